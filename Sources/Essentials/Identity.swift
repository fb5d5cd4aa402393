/// Whether two identities (a caller's identity claim, an owner tag, an invitee id) are the same user:
/// byte for byte, their UTF-8. Never Swift's `String ==`, which compares by canonical equivalence
/// and so takes `"jose\u{301}"` (e + combining acute) for `"jos\u{E9}"` (é), or `"\u{212A}"` (the Kelvin
/// sign) for `"K"`: with a user-chosen claim (`username`, `email`), one account would pass for another.
@inlinable
public func sameIdentity(_ a: String, _ b: String) -> Bool {
    a.utf8.elementsEqual(b.utf8)
}
