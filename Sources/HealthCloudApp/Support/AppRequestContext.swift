import Hummingbird
import Logging
import NIOCore

/// The request context of every route: Hummingbird's core storage plus what this product
/// adds per request (the request id now; the authenticated identity with the identity feature).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id that the response carries in `X-Request-ID` and every log line of the request carries.
    public var requestID: String
    /// Largest request body any route decodes (1 MiB unless configured otherwise).
    public var maxUploadSize: Int
    /// The authenticated caller, on routes that require one (set by the authorization middleware).
    public var identity: Identity?
    /// The client's address, for the audit log and the sign-in limits: the peer's, or the one
    /// a trusted proxy forwarded (``ClientAddressMiddleware``).
    public var clientIP: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.maxUploadSize = AppConfiguration.defaultMaxBodySize
        self.identity = nil
        self.clientIP = source.channel.remoteAddress?.ipAddress ?? ""
    }

    /// The caller, on a route declared for authenticated roles (the middleware guarantees it).
    public func requireIdentity() throws -> Identity {
        guard let identity else {
            throw APIError(.unauthorized, code: "unauthenticated", message: "Sign in first.")
        }
        return identity
    }
}
