import CPNG
import CQREncode
import Foundation

/// A QR code of some text, encoded by the Debian libqrencode and drawn as SVG or (through
/// libpng's simplified write API) PNG, with the 4-module quiet zone scanners expect.
struct QRCode: Sendable {
    /// Dark modules, row by row, `size × size`.
    let modules: [Bool]
    let size: Int
    static let quietZone = 4

    enum Failure: Error {
        case encoding
        case png(String)
    }

    /// Byte mode, error correction M (15 % of the code may be smudged), smallest version that fits.
    init(_ text: String) throws {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { throw Failure.encoding }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let data = UnsafeBufferPointer(start: code.pointee.data, count: width * width)
        modules = data.map { $0 & 1 == 1 }
        size = width
    }

    func isDark(_ x: Int, _ y: Int) -> Bool { modules[y * size + x] }

    /// One path of horizontal runs in module units; the viewBox includes the quiet zone.
    var svg: String {
        let total = size + 2 * Self.quietZone
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x, y) else {
                    x += 1
                    continue
                }
                var run = 1
                while x + run < size && isDark(x + run, y) { run += 1 }
                path += "M\(x + Self.quietZone) \(y + Self.quietZone)h\(run)v1h-\(run)z"
                x += run
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(total) \(total)" width="\(total * 8)" height="\(total * 8)" shape-rendering="crispEdges">\
            <rect width="\(total)" height="\(total)" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
            """
    }

    /// An 8-bit grey PNG, `scale` pixels per module.
    func png(scale: Int) throws -> [UInt8] {
        let side = (size + 2 * Self.quietZone) * scale
        var pixels = [UInt8](repeating: 255, count: side * side)
        for y in 0..<size {
            for x in 0..<size where isDark(x, y) {
                let top = (y + Self.quietZone) * scale
                let left = (x + Self.quietZone) * scale
                for row in top..<(top + scale) {
                    let start = row * side + left
                    for column in start..<(start + scale) { pixels[column] = 0 }
                }
            }
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(side)
        image.height = png_uint_32(side)
        image.format = png_uint_32(PNG_FORMAT_GRAY)
        var length: png_alloc_size_t = 0
        // First call measures, second writes.
        guard png_image_write_to_memory(&image, nil, &length, 0, pixels, png_int_32(side), nil) != 0 else {
            throw Failure.png(Self.message(of: image))
        }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBytes { buffer in
            png_image_write_to_memory(&image, buffer.baseAddress, &length, 0, pixels, png_int_32(side), nil)
        }
        png_image_free(&image)
        guard written != 0 else { throw Failure.png(Self.message(of: image)) }
        return Array(output.prefix(Int(length)))
    }

    private static func message(of image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
