import ArgumentParser
import Foundation
import Logging
import PDS

/// Options of the administration commands (`pds account`, `pds invite`):
/// which configuration and data directory to work on. They open the
/// database directly, so they work whether or not the server is running.
struct AdminOptions: ParsableArguments {
    @Option(help: "A JSON config file (as for `pds serve`).") var config: String?
    @Option(help: "Data directory (overrides the config).") var dataDir: String?

    /// The server's services over the configured data directory.
    func services() throws -> PDSServices {
        var settings = try PDSConfig.load(file: config)
        if let dataDir { settings.dataDirectory = dataDir }
        var logger = Logger(label: "pds")
        logger.logLevel = .warning
        return try PDSServices(config: settings, logger: logger)
    }
}

/// Runs an administration action, printing XRPC errors (bad input) as one
/// line and exiting with status 1.
func runAdmin(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as XRPCError {
        FileHandle.standardError.write(Data("error: \(error.name): \(error.message)\n".utf8))
        throw ExitCode.failure
    }
}

/// The account a handle, DID or email names, or a clear failure.
func findAccount(_ identifier: String, services: PDSServices) async throws -> Account {
    guard let account = try await AccountAdmin.find(identifier, services: services) else {
        FileHandle.standardError.write(Data("error: no account '\(identifier)'\n".utf8))
        throw ExitCode.failure
    }
    return account
}
