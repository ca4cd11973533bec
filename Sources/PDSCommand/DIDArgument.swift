import ArgumentParser
import ATProto

/// A DID given on the command line (`pds repo verify --did`, `pds repo
/// export <did>`): checked when parsed, so a typo is refused with the
/// option's name before any file or database is opened.
extension DID: ExpressibleByArgument {
    public init?(argument: String) {
        try? self.init(argument)
    }
}
