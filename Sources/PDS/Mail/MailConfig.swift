import Mail

/// Where the server's mail goes, named like the reference PDS's settings.
/// With no `smtpURL`, tokens are written to the log instead of mailed.
public struct MailConfig: Sendable, Codable, Equatable {
    /// `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…`
    /// (TLS from the start) (`PDS_EMAIL_SMTP_URL`).
    public var smtpURL: String?
    /// The `From` of every message, `pds@example.com` or `Name <pds@example.com>`
    /// (`PDS_EMAIL_FROM_ADDRESS`); needed with `smtpURL`.
    public var fromAddress: String?
    /// A PEM file of certificates trusted beside the system's, for a relay
    /// with a private CA (`PDS_EMAIL_SMTP_CA_FILE`).
    public var trustedCertificatesFile: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case smtpURL, fromAddress, trustedCertificatesFile
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        smtpURL = try c.decodeIfPresent(String.self, forKey: .smtpURL)
        fromAddress = try c.decodeIfPresent(String.self, forKey: .fromAddress)
        trustedCertificatesFile = try c.decodeIfPresent(String.self, forKey: .trustedCertificatesFile)
        try validate()
    }

    mutating func apply(environment env: [String: String]) throws {
        if let v = env["PDS_EMAIL_SMTP_URL"] { smtpURL = v.isEmpty ? nil : v }
        if let v = env["PDS_EMAIL_FROM_ADDRESS"] { fromAddress = v.isEmpty ? nil : v }
        if let v = env["PDS_EMAIL_SMTP_CA_FILE"] { trustedCertificatesFile = v.isEmpty ? nil : v }
        try validate()
    }

    /// The parsed server, or nil when mail goes to the log.
    public func server() throws -> SMTPServerURL? {
        try smtpURL.map { try SMTPServerURL(parsing: $0) }
    }

    /// The parsed sender.
    public func sender() throws -> MailAddress? {
        try fromAddress.map { try MailAddress(parsing: $0) }
    }

    /// A URL or address that cannot be used is refused at start, not found
    /// when the first user asks for a password reset.
    func validate() throws {
        do {
            _ = try server()
        } catch {
            throw PDSConfig.ConfigError.invalid("mail.smtpURL (PDS_EMAIL_SMTP_URL)", "\(error)")
        }
        guard (try? sender()) != nil || fromAddress == nil else {
            throw PDSConfig.ConfigError.invalid("mail.fromAddress (PDS_EMAIL_FROM_ADDRESS)", fromAddress ?? "")
        }
        if smtpURL != nil && fromAddress == nil {
            throw PDSConfig.ConfigError.invalid("mail.fromAddress (PDS_EMAIL_FROM_ADDRESS)", "unset, and mail.smtpURL needs it")
        }
    }
}
