import Foundation

public enum Geo {
    /// Great-circle distance in kilometres (haversine; fine at city scale).
    public static func distanceKm(lat1: Double, lng1: Double, lat2: Double, lng2: Double) -> Double {
        let radians = Double.pi / 180
        let dLat = (lat2 - lat1) * radians
        let dLng = (lng2 - lng1) * radians
        let a = pow(sin(dLat / 2), 2) + cos(lat1 * radians) * cos(lat2 * radians) * pow(sin(dLng / 2), 2)
        return 2 * 6371.0 * asin(min(1, a.squareRoot()))
    }
}
