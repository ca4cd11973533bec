import ArgumentParser
import Foundation
import PDS

/// `pds invite …`: invite codes for servers that require them.
struct InviteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: "Manage invite codes.", subcommands: [Create.self])

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
}
