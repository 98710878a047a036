import Testing
import RillFormat

@Suite struct CRC32CTests {
    @Test func standardTestVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum(Array("Some String".utf8)) == 0x2445_290F)  // Kafka's Crc32CTest
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, and ascending.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test func hardwareAndPortablePathsAgreeOnEveryLengthAndAlignment() {
        var generator = SplitMix64(seed: 42)
        let data = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        data.withUnsafeBytes { all in
            for _ in 0..<300 {
                let start = Int.random(in: 0..<64, using: &generator)
                let length = Int.random(in: 0...(all.count - start), using: &generator)
                let bytes = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                #expect(CRC32C.checksum(bytes) == CRC32C.portableChecksum(bytes))
            }
        }
    }

    @Test func continuingAChecksumEqualsChecksummingTheWhole() {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        data.withUnsafeBytes { all in
            for split in [0, 1, 7, 8, 255, 4097, 50_000, 100_000] {
                let first = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[..<split]))
                let whole = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[split...]), continuing: first)
                #expect(whole == CRC32C.checksum(all))
            }
        }
    }
}

