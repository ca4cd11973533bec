import ServiceLifecycle

/// The feed generator's background work as a service of the server's
/// lifecycle: it runs until the server shuts down (it never returns on its
/// own, which would end the server).
public struct FeedGenBackgroundService: Service {
    let generator: FeedGenerator
    let local: LocalSequencerSource?

    public init(generator: FeedGenerator, local: LocalSequencerSource?) {
        self.generator = generator
        self.local = local
    }

    public func run() async throws {
        let generator = generator, local = local
        await cancelWhenGracefulShutdown {
            await generator.run(local: local)
        }
    }
}
