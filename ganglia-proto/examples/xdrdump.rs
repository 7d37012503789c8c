fn main() {
    for f in std::env::args().skip(1) {
        let b = std::fs::read(&f).unwrap();
        println!("{f}: {:?}", ganglia_proto::xdr::decode(&b).unwrap());
    }
}
