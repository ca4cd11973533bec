import ArgumentParser
import Foundation
import PDS

/// `pds account …`: create and list accounts, reset a password, take an
/// account down, through the same code the XRPC methods use.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Create, list and moderate accounts (works on the data directory directly).",
        subcommands: [Create.self, List.self, ResetPassword.self, Takedown.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account, exactly as com.atproto.server.createAccount does (no invite code needed).")

        @OptionGroup var options: AdminOptions
        @Option(help: "The handle, under one of the server's user domains.") var handle: String
        @Option(help: "The email address.") var email: String?
        @Option(help: "The password.") var password: String
        @Option(help: "An invite code to spend (optional).") var inviteCode: String?

        func run() async throws {
            let services = try options.services()
            try await runAdmin {
                let account = try await AccountAdmin.createAccount(
                    handle: handle, email: email, password: password, inviteCode: inviteCode, inviteRequired: false,
                    services: services)
                print("did:    \(account.did)")
                print("handle: \(account.handle)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts (deleted ones are left out).")

        @OptionGroup var options: AdminOptions

        func run() async throws {
            let services = try options.services()
            let accounts = try await AccountAdmin.list(services: services)
            let rows = [["DID", "HANDLE", "EMAIL", "STATUS", "CREATED"]]
                + accounts.map { [$0.did.string, $0.handle.string, $0.email ?? "-", $0.status.rawValue, $0.createdAt] }
            let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                let padded = row.enumerated().map { column, value in
                    column == 4 ? value : value.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                }
                print(padded.joined(separator: "  "))
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Set an account's password and end its sessions; a random one is made and printed when --password is omitted.")

        @OptionGroup var options: AdminOptions
        @Argument(help: "The account's handle or DID.") var account: String
        @Option(help: "The new password.") var password: String?

        func run() async throws {
            let services = try options.services()
            let target = try await findAccount(account, services: services)
            let newPassword = password ?? AccountAdmin.randomPassword()
            try await runAdmin {
                try await AccountAdmin.setPassword(did: target.did, password: newPassword, services: services)
            }
            print("password of \(target.handle) (\(target.did)) changed; its sessions are ended")
            if password == nil { print("new password: \(newPassword)") }
        }
    }

    struct Takedown: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take an account down (it can no longer log in, its sessions end, sync stops serving it), or lift that.")

        @OptionGroup var options: AdminOptions
        @Argument(help: "The account's handle or DID.") var account: String
        @Flag(help: "Lift the takedown.") var reverse = false
        @Option(help: "A reference for the takedown (e.g. a report id); defaults to the current time.") var ref: String?

        func run() async throws {
            let services = try options.services()
            let target = try await findAccount(account, services: services)
            try await runAdmin {
                let status = try await AccountAdmin.setTakedown(did: target.did, applied: !reverse, ref: ref, services: services)
                print("\(target.handle) (\(target.did)): \(status.status.rawValue)")
            }
        }
    }
}
