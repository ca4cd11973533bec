import ArgumentParser
import Foundation
import ATProto
import PDS

/// `pds oauth …`: the OAuth grants users gave apps, for the operator.
struct OAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oauth", abstract: "List and revoke the OAuth grants of this server's accounts.",
        subcommands: [List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the grants in force: one per line, newest first.")

        @OptionGroup var options: AdminOptions
        @Option(help: "Only this account's grants (handle or DID).") var account: String?

        func run() async throws {
            let services = try options.services()
            var did: DID? = nil
            if let account { did = try await findAccount(account, services: services).did }
            let grants = try await services.oauth.grants.grants(did: did, now: Int(Date().timeIntervalSince1970))
            let format = ISO8601DateFormatter()
            for grant in grants {
                let created = format.string(from: Date(timeIntervalSince1970: TimeInterval(grant.createdAt)))
                let used = format.string(from: Date(timeIntervalSince1970: TimeInterval(grant.lastUsedAt)))
                print([grant.id, grant.did.string, created, used, grant.clientName ?? "-", grant.clientID, grant.scope].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke grants: one by its ID, or every grant of an account; a running server refuses their tokens within a second.")

        @OptionGroup var options: AdminOptions
        @Argument(help: "A grant ID (from `pds oauth list`), or an account's handle or DID with --account.") var target: String
        @Flag(help: "Revoke every grant of the account named.") var account = false

        func run() async throws {
            let services = try options.services()
            let grants = services.oauth.grants
            if account {
                let did = try await findAccount(target, services: services).did
                let all = try await grants.grants(did: did, now: Int(Date().timeIntervalSince1970))
                for grant in all { try await grants.revoke(grant.id) }
                print("revoked \(all.count) grant(s) of \(did)")
            } else {
                guard try await grants.revoke(target) else { throw ValidationError("no grant \(target)") }
                print("revoked \(target)")
            }
        }
    }
}
