/// A value that must never reach a log: credentials' secret parts and issued tokens.
/// Its `description` (and any interpolation or dump) is redacted; read it through `reveal`.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    public init(_ value: String) { self.value = value }

    /// The secret text itself: only for putting it on the wire.
    public var reveal: String { value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
