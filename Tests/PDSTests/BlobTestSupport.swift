import ATCrypto
import ATProto
import Foundation
import PDSTestSupport

@testable import PDS

/// Sample file contents whose first bytes are real format signatures.
enum SampleFiles {
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            var i = 0
            while i < count {
                withUnsafeBytes(of: generator.next() as UInt64) { word in
                    for b in word where i < count {
                        buffer[i] = b
                        i += 1
                    }
                }
            }
        }
        return bytes
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// A PNG: signature, IHDR (1×1, RGBA), IEND, then `padding` random bytes
    /// (so each sample has its own CID).
    static func png(padding: Int = 16) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            bytes += bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
        }
        chunk("IHDR", bigEndian(1) + bigEndian(1) + [8, 6, 0, 0, 0])
        chunk("IEND", [])
        return bytes + random(padding)
    }

    static func jpeg() -> [UInt8] { [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF\0".utf8) + random(64) }
    static func gif() -> [UInt8] { Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0] + random(32) }
    static func webp() -> [UInt8] { Array("RIFF".utf8) + [40, 0, 0, 0] + Array("WEBPVP8 ".utf8) + random(32) }
    static func mp4() -> [UInt8] { [0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isomiso2".utf8) + random(64) }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

extension TestServer {
    /// POSTs raw bytes to `uploadBlob`.
    func uploadBlob(_ bytes: [UInt8], contentType: String = "application/octet-stream", token: String) async throws -> Reply {
        try await request(
            "POST", "/xrpc/com.atproto.repo.uploadBlob", body: bytes, contentType: contentType,
            headers: ["Authorization": "Bearer \(token)"])
    }

    /// Uploads and returns the `blob` object of the answer.
    func uploadedBlob(_ bytes: [UInt8], contentType: String = "application/octet-stream", token: String) async throws
        -> DataValue
    {
        let reply = try await uploadBlob(bytes, contentType: contentType, token: token)
        guard reply.status == 200, let blob = reply["blob"] else { throw TestError("uploadBlob: \(reply.status) \(reply.text)") }
        return blob
    }

    /// Creates an `app.bsky.feed.post` with an image embed of `blobs`.
    func createPost(_ session: Session, text: String = "hello", images blobs: [DataValue], rkey: String? = nil) async throws -> Reply {
        let images: [DataValue] = blobs.map { ["image": $0, "alt": "an image"] }
        var input: DataMap = [
            "repo": .string(session.did), "collection": "app.bsky.feed.post",
            "record": [
                "$type": "app.bsky.feed.post", "text": .string(text), "createdAt": "2024-01-01T00:00:00.000Z",
                "embed": ["$type": "app.bsky.embed.images", "images": .array(images)],
            ],
        ]
        if let rkey { input["rkey"] = .string(rkey) }
        return try await procedure("com.atproto.repo.createRecord", .map(input), token: session.accessJwt)
    }

    /// The current rev of a repository.
    func rev(_ did: String) async throws -> String? {
        try await query("com.atproto.sync.getLatestCommit", [("did", did)])["rev"]?.stringValue
    }

    /// The files under `blobs/` (temporary uploads included), relative.
    func blobFiles() throws -> [String] {
        let root = dataDirectory.appendingPathComponent("blobs")
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var files: [String] = []
        while let path = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                files.append(path)
            }
        }
        return files.sorted()
    }

    /// An account with a given DID (as account migration brings one), logged
    /// in; its repository is empty until `importRepo`. `key` is the account's
    /// signing key here: the one its repository was signed with elsewhere,
    /// since `importRepo` accepts only commits signed by the account.
    func createAccount(did: String, name: String, key: PrivateKey) async throws -> Session {
        let password = "password-\(UUID().uuidString.prefix(8))"
        let hash = try PasswordHasher.hash(password, strength: .testing)
        try await services.storage.write { tx in
            try AccountStore.insert(
                did: try DID(did), handle: try Handle("\(name).test"), email: "\(name)@example.com", passwordHash: hash, signingKey: key,
                plcGenesis: nil, in: tx)
        }
        let reply = try await procedure(
            "com.atproto.server.createSession", ["identifier": .string(did), "password": .string(password)])
        guard reply.status == 200, let access = reply["accessJwt"]?.stringValue, let refresh = reply["refreshJwt"]?.stringValue
        else { throw TestError("createSession \(did) failed: \(reply.status) \(reply.text)") }
        return Session(did: did, handle: "\(name).test", accessJwt: access, refreshJwt: refresh)
    }
}
