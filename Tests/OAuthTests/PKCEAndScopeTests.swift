import Foundation
import Testing

@testable import OAuth

@Suite("PKCE")
struct PKCETests {
    @Test func rfc7636sExampleVerifies() throws {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        try PKCE.validateChallenge(challenge, method: "S256")
        try PKCE.verify(verifier: verifier, challenge: challenge)
    }

    @Test func plainMissingAndMalformedChallengesAndWrongVerifiersAreRefused() {
        #expect(throws: OAuthError.self) { try PKCE.validateChallenge(nil, method: "S256") }
        #expect(throws: OAuthError.self) { try PKCE.validateChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", method: "plain") }
        #expect(throws: OAuthError.self) { try PKCE.validateChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", method: nil) }
        #expect(throws: OAuthError.self) { try PKCE.validateChallenge("short", method: "S256") }
        #expect(throws: OAuthError.self) {
            try PKCE.verify(verifier: String(repeating: "a", count: 43), challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        }
        #expect(throws: OAuthError.self) { try PKCE.verify(verifier: "too-short", challenge: "x") }
        #expect(throws: OAuthError.self) { try PKCE.verify(verifier: String(repeating: "é", count: 50), challenge: "x") }
    }
}

@Suite("OAuth scopes")
struct OAuthScopeTests {
    @Test func granularPermissionsAllowExactlyWhatTheySay() throws {
        let scope = try OAuthScope("atproto repo:app.bsky.feed.like repo:app.bsky.feed.post?action=delete blob:image/* account:email")
        #expect(scope.allowsRepo(collection: "app.bsky.feed.like", action: .create))
        #expect(scope.allowsRepo(collection: "app.bsky.feed.like", action: .delete))
        #expect(!scope.allowsRepo(collection: "app.bsky.feed.post", action: .create))
        #expect(scope.allowsRepo(collection: "app.bsky.feed.post", action: .delete))
        #expect(scope.allowsBlob(mime: "image/png") && !scope.allowsBlob(mime: "video/mp4"))
        #expect(scope.allowsAccount(.email, .read) && !scope.allowsAccount(.email, .manage))
        #expect(!scope.allowsRPC(lxm: "app.bsky.feed.getTimeline", aud: "did:web:api.bsky.app#bsky_appview"))
        #expect(!scope.allowsIdentity("handle"))
    }

    @Test func theSpecsExamplesParse() throws {
        let examples = [
            "identity:*", "identity:*?", "rpc?lxm=*&aud=did:web:api.example.com%23svc_appview", "blob?accept=video/*&accept=text/html",
            "repo:app.example.profile?action=create&action=update&action=delete",
            "include:app.example.authFull?aud=did:web:api.example.com%23svc_chat", "repo?collection=app.example.profile&collection=app.example.post",
            "repo:*?action=delete", "rpc:app.example.moderation.createReport?aud=*", "account:repo?action=manage",
        ]
        for example in examples {
            #expect(throws: Never.self) { _ = try OAuthScope(example) }
        }
        let rpc = try OAuthScope("rpc?lxm=*&aud=did:web:api.example.com%23svc_appview")
        #expect(rpc.allowsRPC(lxm: "app.example.getFeed", aud: "did:web:api.example.com#svc_appview"))
        #expect(!rpc.allowsRPC(lxm: "app.example.getFeed", aud: "did:web:other.example#svc_appview"))
    }

    @Test func theSpecsInvalidExamplesAreRefused() {
        let invalid = [
            "resource", "resource:positional?key=val", "resource:", "repo:com.example.record?collection=com.example.other",
            "repo:com.example.*", "rpc:*?aud=*", "rpc:app.example.getFeed", "blob:image", "account:everything",
            "account:email?action=write", "identity:email", "repo:app.bsky.feed.post?action=publish", "emoji:☺️",
            "repo:app.bsky.feed.post?mystery=1",
        ]
        for example in invalid {
            #expect(throws: OAuthError.self, "\(example)") { _ = try OAuthScope(example) }
        }
    }

    @Test func transitionScopesMapToTheirOldRights() throws {
        let generic = try OAuthScope("atproto transition:generic")
        #expect(generic.allowsRepo(collection: "app.bsky.feed.post", action: .create))
        #expect(generic.allowsBlob(mime: "video/mp4"))
        #expect(generic.allowsRPC(lxm: "app.bsky.feed.getTimeline", aud: "did:web:api.bsky.app#bsky_appview"))
        #expect(!generic.allowsRPC(lxm: "chat.bsky.convo.listConvos", aud: "did:web:api.bsky.chat#bsky_chat"))
        #expect(!generic.allowsAccount(.email, .read))
        let chat = try OAuthScope("atproto transition:generic transition:chat.bsky transition:email")
        #expect(chat.allowsRPC(lxm: "chat.bsky.convo.listConvos", aud: "did:web:api.bsky.chat#bsky_chat"))
        #expect(chat.allowsAccount(.email, .read))
        #expect(try OAuthScope("atproto").isWithin(generic))
        #expect(!(chat.isWithin(generic)))
    }
}
