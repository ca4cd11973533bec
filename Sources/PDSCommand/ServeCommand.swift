import ArgumentParser
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Atrarium
import FeedGen
import Hummingbird
import Logging
import PDS

/// `pds serve`: runs the server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the PDS (config file, then PDS_* environment variables, then defaults).")

    @Option(help: "A JSON config file (see docs/CONFIG.md).") var config: String?
    @Option(help: "Port to listen on (overrides the config).") var port: Int?
    @Option(help: "Data directory (overrides the config).") var dataDir: String?

    func run() async throws {
        LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        // A client that goes away mid-write must not end the server.
        signal(SIGPIPE, SIG_IGN)
        var settings = try PDSConfig.load(file: config)
        if let port { settings.port = port }
        if let dataDir { settings.dataDirectory = dataDir }
        let services = try PDSServices(config: settings)
        let feedConfig = try FeedGenConfig.load(file: config)
        let dashboardConfig = try DashboardConfig.load(file: config)
        var extensions: [PDSExtension] = []
        if feedConfig.enabled {
            extensions.append(try AtrariumExtension.make(services: services, config: feedConfig, dashboard: dashboardConfig).extension)
        }
        let app = PDSServer.application(services: services, extensions: extensions) { port in
            services.logger.info(
                "listening",
                metadata: [
                    "port": .stringConvertible(port), "did": .string(services.config.resolvedServiceDID),
                    "url": .string(services.config.resolvedPublicURL),
                ])
        }
        try await app.runService()
    }
}
