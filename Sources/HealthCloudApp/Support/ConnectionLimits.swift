import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// How long a client may take to send a request, how long a keep-alive connection may sit
/// idle, and how large a request head may be (docs/security.md, "Connection limits").
///
/// Without them a connection that never finishes its head or body, or never sends anything,
/// holds a socket and its buffers for ever; Hummingbird's own idle timeout is only installed
/// once the first request head has been parsed (after the WebSocket upgrade decision), so it
/// cannot catch a client that stalls inside its first head.
public struct ConnectionLimits: Sendable {
    /// A request's head and body must arrive within this time of its first byte (408, then close).
    public var readTimeout: Duration = .seconds(30)
    /// A connection with no request in progress is closed after this long (RFC 9112 §9.5).
    public var idleTimeout: Duration = .seconds(75)
    /// Largest total size of a request's header fields, and of any one field (431, then close).
    public var maxHeaderBytes = 16 * 1024

    public init() {}
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the WebSocket upgrade, every connection behind `limits`. A connection that
    /// becomes a WebSocket leaves the HTTP limits behind: it has its own ping and close.
    static func http1WebSocketUpgrade(
        limits: ConnectionLimits,
        shouldUpgrade:
            @escaping @Sendable (HTTPRequest, any Channel, Logger) async throws
            -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>>
    ) -> HTTPServerBuilder {
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [HTTPExchangeObserver()],
            idleTimeout: nil,  // ConnectionGuard times idle connections from their first byte on
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes)
        )
        return HTTPServerBuilder { responder in
            LimitedChildChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder,
                    configuration: .init(http1: http1),
                    shouldUpgrade: { request, channel, logger in
                        let result = try await shouldUpgrade(request, channel, logger)
                        if case .upgrade = result {
                            try? await channel.pipeline.removeHandler(name: ConnectionGuard.name).get()
                            try? await channel.pipeline.removeHandler(name: HTTPParseErrorHandler.name).get()
                        }
                        return result
                    }
                ),
                limits: limits
            )
        }
    }
}

/// Puts ``ConnectionGuard`` in front of another child channel's pipeline and
/// ``HTTPParseErrorHandler`` right behind its HTTP decoder.
struct LimitedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let limits: ConnectionLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits), name: ConnectionGuard.name, position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(HTTPParseErrorHandler(), name: HTTPParseErrorHandler.name, position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        var logger = logger
        logger.handler = RoutineCloseLogHandler(base: logger.handler)
        await inner.handle(value: value, logger: logger)
    }
}

/// Hummingbird logs a connection that closes before its first request was decided (an idle or
/// stalled one closed by the limits, a TCP health check) as an error, "Error handling upgrade
/// result" with `Inappropriate operation for state`. Such closes are routine: they are logged at
/// debug, so a flood of held connections cannot fill the error log. Other errors pass unchanged.
struct RoutineCloseLogHandler: LogHandler {
    var base: any LogHandler

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if event.level == .error, event.message.description == "Error handling upgrade result",
            event.metadata?["error.type"]?.description == "Inappropriate operation for state"
        {
            guard base.logLevel <= .debug else { return }
            event.level = .debug
        }
        base.log(event: event)
    }
}

/// The connection's clock, at the front of the pipeline where it sees every byte:
/// from a request's first byte until its end has been decoded the read deadline runs; while
/// no request is in progress the idle timeout runs; while a response is being produced
/// (a long-poll, a slow report) nothing runs. It learns where requests begin and end from
/// ``HTTPExchangeObserver``, and answers 408, 431 and 400 itself as raw bytes, since the
/// HTTP handlers behind it may be in any state when a limit is hit.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let name = "healthcloud.connection-guard"

    enum Rejection {
        case timeout, headersTooLarge, malformed
    }

    private enum Timer: Equatable { case none, idle, read }

    private let limits: ConnectionLimits
    private var context: ChannelHandlerContext?
    private var scheduled: Scheduled<Void>?
    private var armed = Timer.none
    /// Bytes of a request have arrived whose end has not been decoded yet.
    private var receiving = false
    /// That request's head is decoded and its body is still arriving.
    private var bodyPending = false
    /// Requests whose head was decoded and whose response has not ended.
    private var responsesPending = 0
    /// A final response head has been written and its end not yet.
    private var responseStarted = false
    /// A limit was hit: input is discarded until the connection closes.
    private var closing = false

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { update() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        update()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closing { return }
        if !receiving {
            receiving = true
            update()
        }
        context.fireChannelRead(data)
    }

    // MARK: what HTTPExchangeObserver reports

    func requestHeadRead() {
        responsesPending += 1
        receiving = true
        bodyPending = true
        update()
    }

    func requestEndRead() {
        receiving = false
        bodyPending = false
        update()
    }

    func responseHeadWritten() {
        responseStarted = true
    }

    func responseEnded() {
        responseStarted = false
        responsesPending = max(0, responsesPending - 1)
        update()
    }

    // MARK: limits

    /// Answers (when no response is under way, so the bytes cannot interleave with one) and
    /// closes: output first, so the client reads the answer, then the whole connection
    /// shortly after; input that still arrives is dropped unread.
    func reject(_ rejection: Rejection) {
        guard !closing, let context else { return }
        closing = true
        cancelTimer()
        guard responsesPending == 0 || (responsesPending == 1 && !responseStarted) else {
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        context.writeAndFlush(NIOAny(Self.response(rejection, limits: limits)), promise: nil)
        context.close(mode: .output, promise: nil)
        // A client still sending would get a reset (and may lose the answer) if we closed now.
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) {
            channel.close(promise: nil)
        }
    }

    private func update() {
        guard !closing, let context, context.channel.isActive else { return }
        let wanted: Timer
        if receiving && (responsesPending == 0 || bodyPending) {
            wanted = .read
        } else if responsesPending > 0 {
            wanted = .none  // the server is answering: a long-poll may take its time
        } else {
            wanted = .idle
        }
        guard wanted != armed else { return }  // a running read deadline keeps its start
        cancelTimer()
        armed = wanted
        let delay: Duration
        switch wanted {
        case .none: return
        case .idle: delay = limits.idleTimeout
        case .read: delay = limits.readTimeout
        }
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { [weak self] in
            self?.fire(wanted)
        }
    }

    private func fire(_ timer: Timer) {
        scheduled = nil
        armed = .none
        switch timer {
        case .none: break
        case .idle:
            closing = true
            context?.close(promise: nil)
        case .read: reject(.timeout)
        }
    }

    private func cancelTimer() {
        scheduled?.cancel()
        scheduled = nil
        armed = .none
    }

    static func response(_ rejection: Rejection, limits: ConnectionLimits) -> ByteBuffer {
        let (status, code, message) =
            switch rejection {
            case .timeout:
                ("408 Request Timeout", "request_timeout", "The request was not received within \(limits.readTimeout.components.seconds) seconds.")
            case .headersTooLarge:
                ("431 Request Header Fields Too Large", "headers_too_large", "The request's header fields exceed \(limits.maxHeaderBytes) bytes.")
            case .malformed:
                ("400 Bad Request", "malformed_request", "The request is not valid HTTP/1.1.")
            }
        let body = #"{"error":{"code":"\#(code)","message":"\#(message)"}}"#
        let head =
            "HTTP/1.1 \(status)\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: \(body.utf8.count)\r\n"
            + "connection: close\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n\r\n"
        return ByteBuffer(string: head + body)
    }
}

/// Sits right behind the HTTP decoder and turns its parse errors into answers (a header over
/// the limit → 431, anything else → 400) instead of a connection left open for ever: before
/// the first request is decoded nothing else in the pipeline handles them. Reads and writes
/// pass through untouched (never unwrapped), since when a WebSocket upgrade removes the
/// decoder it hands raw bytes on through here.
final class HTTPParseErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    static let name = "healthcloud.http-parse-errors"

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let rejection: ConnectionGuard.Rejection
        switch error {
        case HTTPParserError.headerOverflow: rejection = .headersTooLarge
        case is HTTPParserError: rejection = .malformed
        case is ByteToMessageDecoderError: return  // the decoder's echo of an error already answered
        default:
            context.fireErrorCaught(error)
            return
        }
        if let guardHandler = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self) {
            guardHandler.reject(rejection)
        } else {
            context.close(promise: nil)
        }
    }
}

/// Tells ``ConnectionGuard`` where each request's head and end were decoded and where each
/// response ended. Installed only on connections that stay HTTP (Hummingbird adds it after
/// the upgrade decision), so it always sees HTTP parts.
final class HTTPExchangeObserver: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var connectionGuard: ConnectionGuard?

    func handlerAdded(context: ChannelHandlerContext) {
        connectionGuard = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionGuard = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: connectionGuard?.requestHeadRead()
        case .body: break
        case .end: connectionGuard?.requestEndRead()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational:
            connectionGuard?.responseHeadWritten()
            context.write(data, promise: promise)
        case .end:
            context.write(data, promise: promise)
            connectionGuard?.responseEnded()
        default:
            context.write(data, promise: promise)
        }
    }
}
