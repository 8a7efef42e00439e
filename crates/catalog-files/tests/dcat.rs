//! DCAT-AP 3 JSON-LD export of the open entries.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

mod common;

use common::sample_entries;
use serde_json::Value;
use shuqiao_catalog_files::{FileFormat, export};

#[test]
fn catalog_of_open_entries() {
    let bytes = export(FileFormat::Dcat, &sample_entries(), "https://data.example.gov.cn/").unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["@context"]["dcat"], "http://www.w3.org/ns/dcat#");
    assert_eq!(v["@context"]["dct"], "http://purl.org/dc/terms/");
    assert_eq!(v["@type"], "dcat:Catalog");
    assert_eq!(v["@id"], "https://data.example.gov.cn/open/catalog.jsonld");
    let datasets = v["dcat:dataset"].as_array().unwrap();
    assert_eq!(datasets.len(), 1, "only entries with open.open");
    let d = &datasets[0];
    assert_eq!(d["@id"], "https://data.example.gov.cn/open/catalog/203010/000010");
    assert_eq!(d["@type"], "dcat:Dataset");
    assert_eq!(d["dct:identifier"], "203010/000010");
    assert_eq!(d["dct:title"]["@value"], "食品生产许可信息");
    assert_eq!(d["dct:title"]["@language"], "zh");
    assert_eq!(d["dct:description"]["@value"], "食品生产许可证的发放、变更和注销。");
    assert_eq!(d["dct:publisher"]["foaf:name"]["@value"], "某市市场监督管理局");
    assert_eq!(d["dct:publisher"]["dct:identifier"], "11130100MB0123456F");
    assert_eq!(d["dct:issued"]["@value"], "2025-03-04");
    assert_eq!(d["dct:issued"]["@type"], "xsd:date");
    assert_eq!(
        d["dct:accrualPeriodicity"]["@id"],
        "http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT"
    );
    assert_eq!(d["dct:relation"][0]["@id"], "https://data.example.gov.cn/open/catalog/101001/000123");
    let dist = d["dcat:distribution"].as_array().unwrap();
    assert_eq!(dist.len(), 2, "one per format type (xlsx/csv)");
    assert_eq!(dist[0]["@type"], "dcat:Distribution");
    assert_eq!(dist[0]["dct:format"]["@id"], "http://publications.europa.eu/resource/authority/file-type/XLSX");
    assert_eq!(dist[1]["dct:format"]["@id"], "http://publications.europa.eu/resource/authority/file-type/CSV");
    assert_eq!(dist[0]["dcat:accessURL"]["@id"], d["@id"]);
}

#[test]
fn empty_catalog_and_no_issued_date_when_unpublished() {
    let mut entries = sample_entries();
    let v: Value = serde_json::from_slice(&export(FileFormat::Dcat, &entries[..2], "http://x").unwrap()).unwrap();
    assert_eq!(v["dcat:dataset"].as_array().unwrap().len(), 0);
    entries[0].open.open = true;
    let v: Value = serde_json::from_slice(&export(FileFormat::Dcat, &entries[..1], "http://x").unwrap()).unwrap();
    let d = &v["dcat:dataset"][0];
    assert!(d.get("dct:issued").is_none());
    assert_eq!(d["dct:accrualPeriodicity"]["@id"], "http://publications.europa.eu/resource/authority/frequency/DAILY");
    assert_eq!(d["dcat:distribution"][0]["dct:format"], "PostgreSQL");
}
