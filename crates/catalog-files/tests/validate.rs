//! With the platform's validation: parsed files validate, and validation errors map back to rows and columns.

#![allow(clippy::unwrap_used)]

mod common;

use common::sample_entries;
use shuqiao_catalog_files::{FileFormat, export, parse, template_xlsx};
use shuqiao_domain::rules::RuleSet;
use shuqiao_domain::validate::validate_entry;

#[test]
fn dump() {
    let rules = RuleSet::national_2025();
    for format in [FileFormat::Xlsx, FileFormat::Json] {
        let parsed = parse(format, &export(format, &sample_entries(), "").unwrap()).unwrap();
        for p in &parsed {
            match validate_entry(&p.input, &rules) {
                Ok(s) => eprintln!("{format:?} ok {:?}", s.unit),
                Err(errs) => {
                    for e in errs {
                        eprintln!("{format:?} {} {:?} {}", e.field, p.locate(&e.field), e.message)
                    }
                }
            }
        }
    }
    let t = parse(FileFormat::Xlsx, &template_xlsx().unwrap()).unwrap();
    eprintln!("{:?}", validate_entry(&t[0].input, &rules).map(|s| s.unit));
}
