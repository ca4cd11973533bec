import ArgumentParser
import Foundation
import PDS

/// `pds account …`: create, list, change and delete accounts, reset a
/// password, take an account down, through the same code the XRPC methods
/// (and the admin methods pdsadmin calls) use.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Create, list and moderate accounts (works on the data directory directly).",
        subcommands: [Create.self, List.self, ResetPassword.self, Takedown.self, Delete.self, UpdateHandle.self, UpdateEmail.self]
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

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an account for good (its repository, blobs' references, sessions), as com.atproto.admin.deleteAccount does.")

        @OptionGroup var options: AdminOptions
        @Argument(help: "The account's DID (a DID, so that a typo of a handle deletes nothing).") var did: String
        @Flag(help: "Do not ask for confirmation.") var yes = false

        func run() async throws {
            guard did.hasPrefix("did:") else {
                FileHandle.standardError.write(Data("error: give the account's DID (did:…), not a handle\n".utf8))
                throw ExitCode.failure
            }
            let services = try options.services()
            let target = try await findAccount(did, services: services)
            if !yes {
                print("This deletes \(target.handle) (\(target.did)) and its data for good. Type 'y' to go on: ", terminator: "")
                guard readLine()?.lowercased() == "y" else {
                    print("nothing deleted")
                    throw ExitCode.failure
                }
            }
            try await runAdmin { try await AccountAdmin.delete(did: target.did, services: services) }
            print("\(target.did) deleted")
        }
    }

    struct UpdateHandle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update-handle",
            abstract: "Give an account a new handle (its DID document changes too), as com.atproto.admin.updateAccountHandle does.")

        @OptionGroup var options: AdminOptions
        @Argument(help: "The account's handle or DID.") var account: String
        @Argument(help: "The new handle.") var handle: String

        func run() async throws {
            let services = try options.services()
            let target = try await findAccount(account, services: services)
            try await runAdmin { try await AccountAdmin.updateHandle(did: target.did, handle: handle, services: services) }
            print("\(target.did): handle \(handle.lowercased())")
        }
    }

    struct UpdateEmail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update-email",
            abstract: "Set an account's email (unconfirmed), as com.atproto.admin.updateAccountEmail does.")

        @OptionGroup var options: AdminOptions
        @Argument(help: "The account's handle or DID.") var account: String
        @Argument(help: "The new email address.") var email: String

        func run() async throws {
            let services = try options.services()
            let target = try await findAccount(account, services: services)
            try await runAdmin { try await AccountAdmin.updateEmail(did: target.did, email: email, services: services) }
            print("\(target.did): email \(email.lowercased()) (unconfirmed)")
        }
    }
}
