/// Approximate centres and spreads of Shanghai's districts, for placing generated sites on
/// a map. Good enough for "nearest fever clinic" ranking in a demo; not survey data.
enum Geography {
    struct Area {
        let latitude: Double
        let longitude: Double
        /// Half-width of the box campuses are scattered in, degrees.
        let spread: Double
    }

    static let areas: [String: Area] = [
        "310101": Area(latitude: 31.2317, longitude: 121.4846, spread: 0.012),
        "310104": Area(latitude: 31.1885, longitude: 121.4365, spread: 0.020),
        "310105": Area(latitude: 31.2204, longitude: 121.4044, spread: 0.018),
        "310106": Area(latitude: 31.2456, longitude: 121.4489, spread: 0.016),
        "310107": Area(latitude: 31.2496, longitude: 121.3972, spread: 0.018),
        "310109": Area(latitude: 31.2646, longitude: 121.5052, spread: 0.014),
        "310110": Area(latitude: 31.2796, longitude: 121.5260, spread: 0.018),
        "310112": Area(latitude: 31.1128, longitude: 121.3817, spread: 0.060),
        "310113": Area(latitude: 31.4053, longitude: 121.4096, spread: 0.050),
        "310114": Area(latitude: 31.3747, longitude: 121.2655, spread: 0.050),
        "310115": Area(latitude: 31.1800, longitude: 121.6000, spread: 0.090),
        "310116": Area(latitude: 30.7918, longitude: 121.2420, spread: 0.060),
        "310117": Area(latitude: 31.0325, longitude: 121.2280, spread: 0.060),
        "310118": Area(latitude: 31.1510, longitude: 121.1240, spread: 0.060),
        "310120": Area(latitude: 30.9180, longitude: 121.4740, spread: 0.060),
        "310151": Area(latitude: 31.6230, longitude: 121.3975, spread: 0.080),
    ]

    static let cityCentre = Area(latitude: 31.2304, longitude: 121.4737, spread: 0.05)

    static func point(in districtCode: String, using random: inout SeededRandom) -> (latitude: Double, longitude: Double) {
        let area = areas[districtCode] ?? cityCentre
        let latitude = area.latitude + random.uniform(in: -area.spread...area.spread)
        let longitude = area.longitude + random.uniform(in: -area.spread...area.spread) * 1.2
        return ((latitude * 1e6).rounded() / 1e6, (longitude * 1e6).rounded() / 1e6)
    }
}

/// SplitMix64: a small, fully specified generator, so that the same seed yields the same
/// demo data on every machine and both engines.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A double in `range`, from the top 53 bits.
    public mutating func uniform(in range: ClosedRange<Double>) -> Double {
        let unit = Double(next() >> 11) / Double(1 << 53)
        return range.lowerBound + unit * (range.upperBound - range.lowerBound)
    }
}
