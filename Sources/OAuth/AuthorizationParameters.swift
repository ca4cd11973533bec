/// What a client asked for in its pushed authorization request, checked
/// and kept until the code is exchanged.
public struct AuthorizationParameters: Codable, Sendable, Equatable {
    public var clientID: String
    public var redirectURI: String
    public var scope: String
    public var state: String
    public var codeChallenge: String
    /// `query` (the default), `fragment` or `form_post`.
    public var responseMode: String
    /// A handle or DID to sign in as.
    public var loginHint: String?
    /// `none`, `login`, `consent`, `select_account` or `create`.
    public var prompt: String?

    public init(
        clientID: String, redirectURI: String, scope: String, state: String, codeChallenge: String, responseMode: String,
        loginHint: String?, prompt: String?
    ) {
        self.clientID = clientID
        self.redirectURI = redirectURI
        self.scope = scope
        self.state = state
        self.codeChallenge = codeChallenge
        self.responseMode = responseMode
        self.loginHint = loginHint
        self.prompt = prompt
    }

    /// The response modes this server supports.
    public static let responseModes = ["query", "fragment", "form_post"]
    /// The prompt values this server supports.
    public static let prompts = ["none", "login", "consent", "select_account", "create"]
}
