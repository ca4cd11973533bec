/// The registered and atproto claims of a JWT payload.
///
/// Every claim is optional; absent ones are left out when encoding. Times
/// (`exp`, `iat`, `nbf`) are NumericDates in whole seconds since 1970;
/// fractional values in received tokens are rounded down. `aud` is a single
/// string, as atproto uses it (an array-valued `aud` is refused as malformed).
///
/// `typ` is not a payload claim: it mirrors the JOSE header's `typ`
/// (`at+jwt`, `refresh+jwt`, `JWT`, …). `JWT.decodeUnverified` and
/// `JWT.verify` fill it in from the header; it is never encoded into the
/// payload, and `JWT.sign` takes the header `typ` as its own argument.
public struct JWTClaims: Codable, Sendable, Hashable {
    /// Issuer (`iss`): for service auth, the DID of the signing account.
    public var iss: String?
    /// Subject (`sub`).
    public var sub: String?
    /// Audience (`aud`): the DID (or DID#service) the token is meant for.
    public var aud: String?
    /// Expiration time (`exp`), seconds since 1970.
    public var exp: Int?
    /// Issued-at time (`iat`), seconds since 1970.
    public var iat: Int?
    /// Not-before time (`nbf`), seconds since 1970.
    public var nbf: Int?
    /// Lexicon method (`lxm`) a service-auth token is bound to.
    public var lxm: String?
    /// Token identifier (`jti`), for replay protection.
    public var jti: String?
    /// Space-separated scopes (`scope`).
    public var scope: String?
    /// OAuth client (`client_id`) an access token was issued to.
    public var client_id: String?
    /// Confirmation (`cnf`, RFC 7800): the key a DPoP-bound token is bound to.
    public var cnf: Confirmation?
    /// The JOSE header `typ` (not a payload claim; see the type's doc).
    public var typ: String?

    /// Creates a claim set; every claim defaults to absent.
    public init(
        iss: String? = nil, sub: String? = nil, aud: String? = nil,
        exp: Int? = nil, iat: Int? = nil, nbf: Int? = nil,
        lxm: String? = nil, jti: String? = nil, scope: String? = nil,
        client_id: String? = nil, cnf: Confirmation? = nil, typ: String? = nil
    ) {
        self.iss = iss
        self.sub = sub
        self.aud = aud
        self.exp = exp
        self.iat = iat
        self.nbf = nbf
        self.lxm = lxm
        self.jti = jti
        self.scope = scope
        self.client_id = client_id
        self.cnf = cnf
        self.typ = typ
    }

    /// The `cnf` claim: `jkt`, the RFC 7638 thumbprint of a DPoP key (RFC 9449 §6).
    public struct Confirmation: Codable, Sendable, Hashable {
        public var jkt: String?
        public init(jkt: String?) { self.jkt = jkt }
    }

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, iat, nbf, lxm, jti, scope, client_id, cnf
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iss = try c.decodeIfPresent(String.self, forKey: .iss)
        sub = try c.decodeIfPresent(String.self, forKey: .sub)
        aud = try c.decodeIfPresent(String.self, forKey: .aud)
        exp = try JWTClaims.numericDate(c, .exp)
        iat = try JWTClaims.numericDate(c, .iat)
        nbf = try JWTClaims.numericDate(c, .nbf)
        lxm = try c.decodeIfPresent(String.self, forKey: .lxm)
        jti = try c.decodeIfPresent(String.self, forKey: .jti)
        scope = try c.decodeIfPresent(String.self, forKey: .scope)
        client_id = try c.decodeIfPresent(String.self, forKey: .client_id)
        cnf = try c.decodeIfPresent(Confirmation.self, forKey: .cnf)
        typ = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(iss, forKey: .iss)
        try c.encodeIfPresent(sub, forKey: .sub)
        try c.encodeIfPresent(aud, forKey: .aud)
        try c.encodeIfPresent(exp, forKey: .exp)
        try c.encodeIfPresent(iat, forKey: .iat)
        try c.encodeIfPresent(nbf, forKey: .nbf)
        try c.encodeIfPresent(lxm, forKey: .lxm)
        try c.encodeIfPresent(jti, forKey: .jti)
        try c.encodeIfPresent(scope, forKey: .scope)
        try c.encodeIfPresent(client_id, forKey: .client_id)
        try c.encodeIfPresent(cnf, forKey: .cnf)
    }

    /// A NumericDate, integer or fractional (rounded down), within ±10^15 s.
    private static func numericDate(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
    ) throws -> Int? {
        guard let value = try c.decodeIfPresent(Double.self, forKey: key) else { return nil }
        guard value.isFinite, abs(value) < 1e15 else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "\(key.rawValue) is not a valid NumericDate")
        }
        return Int(value.rounded(.down))
    }
}

/// The JOSE header of a compact JWS.
public struct JWTHeader: Codable, Sendable, Hashable {
    /// Signature algorithm (`ES256K`, `ES256`, `EdDSA`, `HS256`).
    public var alg: String
    /// Token type (`JWT`, `at+jwt`, `refresh+jwt`, …).
    public var typ: String?
    /// Key identifier.
    public var kid: String?
    /// Critical extensions; tokens that list any are refused, since none is
    /// understood here (RFC 7515 §4.1.11).
    public var crit: [String]?

    /// Creates a header.
    public init(alg: String, typ: String? = nil, kid: String? = nil, crit: [String]? = nil) {
        self.alg = alg
        self.typ = typ
        self.kid = kid
        self.crit = crit
    }
}

/// A compact JWS split into its parts, with its signature not yet checked.
public struct DecodedJWT: Sendable, Hashable {
    /// The decoded header.
    public let header: JWTHeader
    /// The decoded payload, with `typ` copied from the header.
    public let claims: JWTClaims
    /// The signed text: `base64url(header) + "." + base64url(payload)`.
    public let signingInput: String
    /// The raw signature bytes.
    public let signature: [UInt8]
}
