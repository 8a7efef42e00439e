//! DCAT-AP 3 as JSON-LD: one `dcat:Catalog` whose `dcat:dataset`s are the entries open to the public, each
//! with its publisher, issue date, update frequency (EU frequency vocabulary) and one `dcat:Distribution` per
//! format type.

use serde_json::{Value, json};
use shuqiao_domain::entry::{Entry, UpdateCycle};

use crate::ExportError;

const FREQUENCY: &str = "http://publications.europa.eu/resource/authority/frequency/";
const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type/";
const ACCESS_RIGHT: &str = "http://publications.europa.eu/resource/authority/access-right/";

pub(crate) fn export(entries: &[Entry], base_url: &str) -> Result<Vec<u8>, ExportError> {
    serde_json::to_vec_pretty(&catalog(entries, base_url)).map_err(|e| ExportError::Json(e.to_string()))
}

fn lang(s: &str) -> Value {
    json!({"@value": s, "@language": "zh"})
}

fn frequency(c: UpdateCycle) -> &'static str {
    match c {
        UpdateCycle::Realtime => "UPDATE_CONT",
        UpdateCycle::Daily => "DAILY",
        UpdateCycle::Weekly => "WEEKLY",
        UpdateCycle::Monthly => "MONTHLY",
        UpdateCycle::Quarterly => "QUARTERLY",
        UpdateCycle::HalfYearly => "ANNUAL_2",
        UpdateCycle::Yearly => "ANNUAL",
        UpdateCycle::Irregular => "IRREG",
    }
}

/// The EU file-type authority code of a format type, when it has one.
fn file_type(kind: &str) -> Option<&'static str> {
    Some(match kind.to_ascii_lowercase().as_str() {
        "xlsx" => "XLSX",
        "xls" => "XLS",
        "csv" => "CSV",
        "json" => "JSON",
        "xml" => "XML",
        "pdf" => "PDF",
        "doc" => "DOC",
        "docx" => "DOCX",
        "ofd" => "OFD",
        "zip" => "ZIP",
        "jpg" | "jpeg" => "JPEG",
        "png" => "PNG",
        "mp4" => "MP4",
        "html" => "HTML",
        "txt" => "TXT",
        "rdf" => "RDF",
        "jsonld" | "json-ld" => "JSON_LD",
        _ => return None,
    })
}

pub(crate) fn catalog(entries: &[Entry], base_url: &str) -> Value {
    let base = base_url.trim_end_matches('/');
    let datasets: Vec<Value> = entries.iter().filter(|e| e.open.open).map(|e| dataset(e, base)).collect();
    json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "adms": "http://www.w3.org/ns/adms#"
        },
        "@id": format!("{base}/open/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": lang("政务信息资源开放目录"),
        "dct:description": lang("向社会开放的政务信息资源（数桥）"),
        "dct:language": {"@id": "http://publications.europa.eu/resource/authority/language/ZHO"},
        "foaf:homepage": {"@id": format!("{base}/open/catalog")},
        "dcat:dataset": datasets
    })
}

fn dataset(e: &Entry, base: &str) -> Value {
    let code = e.code.to_string();
    let iri = format!("{base}/open/catalog/{code}");
    let kinds: Vec<&str> =
        e.format.kind.split(['/', ',', '，', '、', ';', '；']).map(str::trim).filter(|k| !k.is_empty()).collect();
    let distributions: Vec<Value> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let format = file_type(kind).map_or_else(|| json!(kind), |t| json!({"@id": format!("{FILE_TYPE}{t}")}));
            json!({
                "@id": format!("{iri}#distribution-{}", i + 1),
                "@type": "dcat:Distribution",
                "dct:title": lang(&format!("{}（{}）", e.name, kind)),
                "dcat:accessURL": {"@id": iri},
                "dct:format": format,
                "dct:description": lang(&format!("{}：{}", category(e), kind)),
            })
        })
        .collect();
    let mut d = json!({
        "@id": iri,
        "@type": "dcat:Dataset",
        "dct:identifier": code,
        "dct:title": lang(&e.name),
        "dct:description": lang(&e.summary),
        "dct:publisher": {
            "@type": "foaf:Agent",
            "foaf:name": lang(&e.provider.name),
            "dct:identifier": e.provider.credit_code,
        },
        "dct:accrualPeriodicity": {"@id": format!("{FREQUENCY}{}", frequency(e.update_cycle))},
        "dct:accessRights": {"@id": format!("{ACCESS_RIGHT}{}",
            if e.open.condition.is_some() { "RESTRICTED" } else { "PUBLIC" })},
        "dcat:landingPage": {"@id": iri},
        "dcat:version": e.version.to_string(),
        "dcat:distribution": distributions,
    });
    if let Some(obj) = d.as_object_mut() {
        if let Some(date) = e.published_on {
            obj.insert("dct:issued".into(), json!({"@value": crate::sheet::date(date), "@type": "xsd:date"}));
        }
        if let Some(c) = &e.open.condition {
            obj.insert("dct:rights".into(), lang(c));
        }
        let related: Vec<Value> =
            e.related.iter().map(|r| json!({"@id": format!("{base}/open/catalog/{r}")})).collect();
        if !related.is_empty() {
            obj.insert("dct:relation".into(), Value::Array(related));
        }
    }
    d
}

fn category(e: &Entry) -> String {
    serde_json::to_value(e.format.category).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
