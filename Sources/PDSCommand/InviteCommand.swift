import ArgumentParser
import Foundation
import PDS

/// `pds invite …`: invite codes for servers that require them.
struct InviteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: "Manage invite codes.", subcommands: [Create.self, Disable.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create invite codes (as com.atproto.server.createInviteCodes does) and print one per line.")

        @OptionGroup var options: AdminOptions
        @Option(help: "Uses of each code.") var uses: Int = 1
        @Option(help: "Number of codes.") var count: Int = 1
        @Option(help: "The DID the codes are for (default: admin).") var forAccount: String?

        func run() async throws {
            let services = try options.services()
            try await runAdmin {
                let made = try await AccountAdmin.createInviteCodes(
                    count: count, uses: uses, forAccounts: forAccount.map { [$0] } ?? [], services: services)
                for code in made.flatMap(\.codes) { print(code) }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable invite codes, by code or every code of an account (as com.atproto.admin.disableInviteCodes does).")

        @OptionGroup var options: AdminOptions
        @Argument(help: "The codes to disable.") var codes: [String] = []
        @Option(help: "Also disable every code made for this DID (repeatable).") var account: [String] = []

        func run() async throws {
            guard !codes.isEmpty || !account.isEmpty else {
                FileHandle.standardError.write(Data("error: name codes to disable, or --account DID\n".utf8))
                throw ExitCode.failure
            }
            let services = try options.services()
            try await runAdmin {
                let count = try await AccountAdmin.disableInviteCodes(codes: codes, accounts: account, services: services)
                print("\(count) invite code\(count == 1 ? "" : "s") disabled")
            }
        }
    }
}
