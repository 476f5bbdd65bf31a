/// Which new sparks a server takes: at most `maxSparks` overall and `maxSparksPerAddress` per
/// client address, and when the server is full, the address holding the most sparks gives up its
/// newest one so that one flooding address cannot lock everyone else out.
///
/// A value type with no clock and no I/O; the server keeps one under its registry lock and
/// touches it once per handshake and once per spark end. Every operation is O(1) amortized:
/// addresses are kept in buckets by how many sparks they hold, so the busiest is known at once,
/// and each address's sparks in admission order, so its newest is too.
///
/// | situation | decision |
/// |---|---|
/// | the address holds `maxSparksPerAddress` | ``Decision/refuse(_:)`` (``Refusal/addressFull``) |
/// | fewer than `maxSparks` are open | ``Decision/accept`` |
/// | full, and the busiest address holds more than the newcomer's | ``Decision/acceptShedding(_:)``: that address's newest spark ends |
/// | full otherwise | ``Decision/refuse(_:)`` (``Refusal/serverFull``) |
package struct SparkAdmission: Sendable {
    /// What to do with a handshake.
    package enum Decision: Sendable, Hashable {
        /// Open the spark.
        case accept
        /// Open the spark after ending this one (silently, so its client reconnects); it no
        /// longer counts.
        case acceptShedding(String)
        /// Answer `503`.
        case refuse(Refusal)
    }

    /// Why a handshake is refused.
    package enum Refusal: Sendable, Hashable {
        /// Its address holds `maxSparksPerAddress` sparks.
        case addressFull
        /// The server holds `maxSparks` and no address holds more than the newcomer's.
        case serverFull
        /// The id is already admitted (a random id collided: try another).
        case duplicateID
    }

    private struct Address {
        /// How many sparks the address holds.
        var count = 0
        /// Its spark ids in admission order, newest last, with the serial each was admitted
        /// under. Released sparks stay until they reach the top or the list is compacted.
        var order: [(id: String, serial: UInt64)] = []
    }

    /// The most sparks open at once.
    package let maxSparks: Int
    /// The most sparks one address may hold.
    package let maxSparksPerAddress: Int

    private var owners: [String: (key: String, serial: UInt64)] = [:]
    private var addresses: [String: Address] = [:]
    /// Addresses by how many sparks they hold (only counts above zero).
    private var buckets: [Int: Set<String>] = [:]
    private var busiest = 0
    private var serial: UInt64 = 0

    /// An empty admission with these limits (negative limits count as zero).
    package init(maxSparks: Int, maxSparksPerAddress: Int) {
        self.maxSparks = max(maxSparks, 0)
        self.maxSparksPerAddress = max(maxSparksPerAddress, 0)
    }

    /// How many sparks are admitted.
    package var count: Int { owners.count }

    /// How many sparks `key` holds.
    package func count(for key: String) -> Int { addresses[key]?.count ?? 0 }

    /// Whether `id` is admitted.
    package func contains(_ id: String) -> Bool { owners[id] != nil }

    /// Decides on a new spark `id` from the address `key`, and counts it when it is admitted.
    package mutating func admit(_ id: String, key: String) -> Decision {
        guard owners[id] == nil else { return .refuse(.duplicateID) }
        let held = count(for: key)
        guard held < maxSparksPerAddress else { return .refuse(.addressFull) }
        if owners.count < maxSparks {
            add(id, key: key)
            return .accept
        }
        guard busiest > held, let victimKey = buckets[busiest]?.first, let victim = newest(of: victimKey) else {
            return .refuse(.serverFull)
        }
        release(victim)
        add(id, key: key)
        return .acceptShedding(victim)
    }

    /// Forgets `id` (its spark ended). Releasing an id that is not admitted does nothing.
    package mutating func release(_ id: String) {
        guard let (key, _) = owners.removeValue(forKey: id), var address = addresses[key] else { return }
        move(key, from: address.count, to: address.count - 1)
        address.count -= 1
        if address.count == 0 {
            addresses[key] = nil
            return
        }
        // Released ids are dropped lazily; compacting when they outnumber the live ones keeps
        // the list within twice the address's sparks at O(1) amortized cost.
        if address.order.count > 2 * address.count + 8 {
            address.order.removeAll { owners[$0.id]?.serial != $0.serial }
        }
        addresses[key] = address
    }

    // MARK: - Private

    private mutating func add(_ id: String, key: String) {
        serial &+= 1
        owners[id] = (key, serial)
        var address = addresses.removeValue(forKey: key) ?? Address()
        move(key, from: address.count, to: address.count + 1)
        address.count += 1
        address.order.append((id, serial))
        addresses[key] = address
    }

    /// The newest spark `key` still holds.
    private mutating func newest(of key: String) -> String? {
        guard var address = addresses.removeValue(forKey: key) else { return nil }
        defer { addresses[key] = address }
        while let last = address.order.last {
            if owners[last.id]?.serial == last.serial { return last.id }
            address.order.removeLast()
        }
        return nil
    }

    private mutating func move(_ key: String, from old: Int, to new: Int) {
        if old > 0 {
            buckets[old]?.remove(key)
            if buckets[old]?.isEmpty == true { buckets[old] = nil }
        }
        if new > 0 { buckets[new, default: []].insert(key) }
        if new > busiest {
            busiest = new
        } else if old == busiest, buckets[old] == nil {
            // Counts move by one, so the next bucket down holds this key (or none is left).
            busiest = new
        }
    }
}
