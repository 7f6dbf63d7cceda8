/// The failure of a numerical routine (a LAPACK call, a decomposition): which routine, what
/// kind of failure, and a one-line explanation. `description` is `"routine: message"`.
public struct RoutineError<Kind: Sendable & Equatable>: Error, CustomStringConvertible, Equatable, Sendable {
    /// The routine that failed, e.g. `"solve"`.
    public let routine: String
    /// The kind of failure, for callers that want to react to one kind only.
    public let kind: Kind
    /// A one-line explanation.
    public let message: String

    public init(routine: String, kind: Kind, message: String) {
        self.routine = routine
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(routine): \(message)" }
}
