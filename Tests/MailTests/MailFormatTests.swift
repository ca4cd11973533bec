import Foundation
import Testing

@testable import Mail

/// The message format: quoted-printable bodies, encoded headers, addresses
/// that cannot smuggle a header, and dot-stuffing.
@Suite struct MailFormatTests {
    @Test func quotedPrintableKeepsLinesShortAndTextReadable() {
        let long = String(repeating: "abcdefghij", count: 20)
        let encoded = QuotedPrintable.encode("Héllo = world \nline two\t\n" + long)
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines[0] == "H=C3=A9llo =3D world=20")
        #expect(lines[1] == "line two=09")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        // Soft breaks joined again give the original line.
        let rejoined = lines[2...].map { $0.hasSuffix("=") ? String($0.dropLast()) : $0 }.joined()
        #expect(rejoined == long)
        // A multi-byte character is never split inside its =XX triple.
        let accents = QuotedPrintable.encode(String(repeating: "é", count: 40))
        for line in accents.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 76)
            #expect(line.replacingOccurrences(of: "=\r\n", with: "").hasSuffix("=") || line.last != "=" || line.hasSuffix("="))
            let body = line.hasSuffix("=") ? String(line.dropLast()) : line
            #expect(body.utf8.count % 3 == 0)
        }
    }

    @Test func subjectsAreEncodedWordsWhenNotPlainASCII() {
        #expect(MailHeaders.encodedText("Password Reset Requested") == "Password Reset Requested")
        let encoded = MailHeaders.encodedText("Réinitialisation du mot de passe — demandée pour votre compte, s’il vous plaît")
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        var decoded = Data()
        for word in words {
            #expect(word.hasPrefix("=?utf-8?B?") && word.hasSuffix("?="))
            #expect(word.utf8.count <= 75)
            decoded += Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))!
        }
        #expect(String(decoding: decoded, as: UTF8.self).hasPrefix("Réinitialisation"))
        // A line break cannot start a header of its own.
        #expect(MailHeaders.encodedText("Hi\r\nBcc: victim@example.com") == "Hi  Bcc: victim@example.com")
    }

    @Test func addressesAreChecked() throws {
        #expect(MailAddress.isValid("alice@example.com"))
        for bad in ["alice", "@example.com", "alice@", "alice@example", "a b@example.com", "alice@example.com\r\nRCPT TO:<x@y.z>", "<a@b.c>", "a@b.c>"] {
            #expect(!MailAddress.isValid(bad), "\(bad)")
        }
        let parsed = try MailAddress(parsing: "Swift PDS <pds@example.com>")
        #expect(parsed.address == "pds@example.com" && parsed.name == "Swift PDS")
        #expect(parsed.header == "\"Swift PDS\" <pds@example.com>")
        #expect(throws: MailAddress.Invalid.self) { try MailAddress(parsing: "Name <not an address>") }
    }

    @Test func renderedMessageHasTheHeadersAndBothParts() throws {
        let message = MailMessage(
            from: try MailAddress("pds@example.com"), to: try MailAddress("alice@example.com"), subject: "Email Confirmation",
            text: "Your code:\n.ABCDE-FGHIJ\n", html: "<p>Your code: <b>ABCDE-FGHIJ</b></p>",
            date: Date(timeIntervalSince1970: 1_796_655_873), messageID: "0123abcd@example.com")
        let raw = String(decoding: message.rendered(), as: UTF8.self)
        #expect(raw.contains("Date: Mon, 07 Dec 2026 15:04:33 +0000\r\n"))
        #expect(raw.contains("Message-ID: <0123abcd@example.com>\r\n"))
        #expect(raw.contains("Content-Type: multipart/alternative; boundary=\"=_pds_0123abcd\"\r\n"))
        #expect(raw.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nYour code:\r\n.ABCDE-FGHIJ"))
        #expect(raw.contains("Content-Type: text/html; charset=utf-8"))
        #expect(raw.hasSuffix("--=_pds_0123abcd--\r\n"))
        #expect(!raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test func dataIsDotStuffedAndTerminated() {
        let stuffed = SMTPData.stuffed(Array("a\r\n.b\n..c\r\n.".utf8))
        #expect(String(buffer: stuffed) == "a\r\n..b\r\n...c\r\n..\r\n.\r\n")
    }
}
