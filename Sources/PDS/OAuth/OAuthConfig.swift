/// How long OAuth tokens and grants last. The atproto OAuth spec asks for
/// short access tokens and caps a public client's session at two weeks
/// (it holds no secret, so a stolen refresh token must die on its own);
/// a confidential client may keep its grant longer, refreshing it.
public struct OAuthConfig: Sendable, Codable, Equatable {
    /// Lifetime of an access token (`PDS_OAUTH_ACCESS_TOKEN_SECONDS`; 15 minutes).
    public var accessTokenSeconds: Int = 15 * 60
    /// The most a public client's grant lasts from sign-in
    /// (`PDS_OAUTH_PUBLIC_SESSION_DAYS`; 14, the spec's limit).
    public var publicSessionDays: Int = 14
    /// The most a confidential client's grant lasts from sign-in
    /// (`PDS_OAUTH_CONFIDENTIAL_SESSION_DAYS`; 180).
    public var confidentialSessionDays: Int = 180
    /// Lifetime of each of a confidential client's refresh tokens (90 days).
    public var confidentialRefreshDays: Int = 90
    /// How long a browser stays signed in on the authorize pages (30 days).
    public var deviceSignInDays: Int = 30

    public init() {}

    enum CodingKeys: String, CodingKey {
        case accessTokenSeconds, publicSessionDays, confidentialSessionDays, confidentialRefreshDays, deviceSignInDays
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accessTokenSeconds = try c.decodeIfPresent(Int.self, forKey: .accessTokenSeconds) ?? accessTokenSeconds
        publicSessionDays = try c.decodeIfPresent(Int.self, forKey: .publicSessionDays) ?? publicSessionDays
        confidentialSessionDays = try c.decodeIfPresent(Int.self, forKey: .confidentialSessionDays) ?? confidentialSessionDays
        confidentialRefreshDays = try c.decodeIfPresent(Int.self, forKey: .confidentialRefreshDays) ?? confidentialRefreshDays
        deviceSignInDays = try c.decodeIfPresent(Int.self, forKey: .deviceSignInDays) ?? deviceSignInDays
        try validate()
    }

    mutating func apply(environment env: [String: String]) throws {
        func int(_ name: String) throws -> Int? {
            guard let value = env[name] else { return nil }
            guard let n = Int(value) else { throw PDSConfig.ConfigError.invalid(name, value) }
            return n
        }
        if let v = try int("PDS_OAUTH_ACCESS_TOKEN_SECONDS") { accessTokenSeconds = v }
        if let v = try int("PDS_OAUTH_PUBLIC_SESSION_DAYS") { publicSessionDays = v }
        if let v = try int("PDS_OAUTH_CONFIDENTIAL_SESSION_DAYS") { confidentialSessionDays = v }
        try validate()
    }

    /// Access tokens of 10 s to 1 hour; sessions of at least a day, and a
    /// public one at most the spec's two weeks.
    func validate() throws {
        guard (10...3600).contains(accessTokenSeconds) else { throw PDSConfig.ConfigError.invalid("oauth.accessTokenSeconds", String(accessTokenSeconds)) }
        guard (1...14).contains(publicSessionDays) else { throw PDSConfig.ConfigError.invalid("oauth.publicSessionDays", String(publicSessionDays)) }
        for (name, value) in [
            ("oauth.confidentialSessionDays", confidentialSessionDays), ("oauth.confidentialRefreshDays", confidentialRefreshDays),
            ("oauth.deviceSignInDays", deviceSignInDays),
        ] where value < 1 {
            throw PDSConfig.ConfigError.invalid(name, String(value))
        }
    }
}
