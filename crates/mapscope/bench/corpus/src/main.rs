//! Touches each dependency so that its code and types end up in the binary.
fn main() {
    let re = regex::Regex::new(r"(\w+)::(\w+)").unwrap();
    let file: syn::File = syn::parse_str("fn f() { let x = 1; }").unwrap();
    let v: serde_json::Value = serde_json::json!({ "items": file.items.len() });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let n = rt.block_on(async { tokio::task::spawn(async { 1 }).await.unwrap() });
    let cmd = clap::Command::new("corpus").arg(clap::Arg::new("x"));
    let data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let obj = object::File::parse(&*data).map(|o| object::Object::sections(&o).count()).unwrap_or(0);
    let mut units = gimli::DebugInfo::new(&data[..], gimli::LittleEndian).units();
    while let Ok(Some(_)) = units.next() {}
    let t: toml::Value = toml::from_str("a = 1").unwrap();
    let sum: u64 = rayon::iter::ParallelIterator::sum(rayon::iter::IntoParallelIterator::into_par_iter(0..100u64));
    let now = chrono::Utc::now().timestamp();
    let ast = regex_syntax::parse(r"a+b").map(|h| format!("{h:?}").len()).unwrap_or(0);
    let b = hyper::body::Bytes::from_static(b"x");
    let st = h2::Reason::NO_ERROR;
    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct S { a: u32, b: Vec<String> }
    let s: S = serde_json::from_str(r#"{"a":1,"b":["x"]}"#).unwrap();
    let ctx = addr2line::Context::from_dwarf(gimli::Dwarf::<gimli::EndianSlice<'_, gimli::LittleEndian>>::default()).is_ok();
    println!("{t} {sum} {now} {ast} {b:?} {st:?} {s:?} {ctx}");
    let sql = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::GenericDialect {}, "SELECT a FROM t WHERE b = 1")
        .map(|v| format!("{v:?}").len())
        .unwrap_or(0);
    let img = image::RgbImage::new(2, 2);
    let png = image::load_from_memory(&[0u8; 8]).is_ok();
    let flags = cranelift_codegen::settings::Flags::new(cranelift_codegen::settings::builder());
    println!("{sql} {} {png} {}", img.len(), flags.opt_level());
    let http = hyper::server::conn::http1::Builder::new();
    std::hint::black_box(&http);
    println!("{} {} {} {} {}", re.is_match("a::b"), v, n, cmd.get_name(), obj);
}
