import ArgumentParser

/// The `pds` command line: the server, administration and benchmarks.
@main
struct PDSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pds",
        abstract: "A self-hosted AT Protocol Personal Data Server with a community feed generator.",
        version: PDSVersion.current,
        subcommands: [ServeCommand.self, RepoCommand.self, FirehoseCommand.self, AccountCommand.self, InviteCommand.self, RequestCrawlCommand.self, OAuthCommand.self, FeedGenCommand.self, BenchCommand.self]
    )
}

/// The version string printed by `pds --version`.
enum PDSVersion {
    static let current = "0.1.0"
}
