use super::*;

fn doc(code: &str, status: &str, name: &str, summary: &str, items: &[&str]) -> IndexDoc {
    let class = code.split('/').next().unwrap_or_default().to_string();
    IndexDoc {
        key: format!("{code}@{status}"),
        code: code.to_string(),
        name: name.to_string(),
        summary: summary.to_string(),
        item_names: items.iter().map(|s| s.to_string()).collect(),
        provider_id: "dept-a".to_string(),
        provider_name: "甲厅".to_string(),
        lei: class.chars().next().and_then(|c| c.to_digit(10)).unwrap_or(1) as u8,
        class_code: class,
        share_type: "unconditional".to_string(),
        open: false,
        update_cycle: "monthly".to_string(),
        status: status.to_string(),
        region: "130000".to_string(),
        updated_at: 1_700_000_000,
    }
}

fn text(t: &str) -> SearchQuery {
    SearchQuery { text: Some(t.to_string()), limit: 20, ..Default::default() }
}

fn codes(r: &SearchResult) -> Vec<&str> {
    r.hits.iter().map(|h| h.code.as_str()).collect()
}

fn facet(r: &SearchResult, dim: &str) -> Vec<(String, u64)> {
    r.facets[dim].iter().map(|f| (f.value.clone(), f.count)).collect()
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(s, c)| (s.to_string(), *c)).collect()
}

fn tmp_index() -> (tempfile::TempDir, CatalogIndex) {
    let dir = tempfile::tempdir().unwrap();
    let idx = CatalogIndex::open_or_create(&dir.path().join("idx")).unwrap();
    (dir, idx)
}

fn ranking_corpus() -> Vec<IndexDoc> {
    vec![
        doc(
            "101001/000001",
            "published",
            "人口统计数据",
            "本资源包含辖区内企业的基本情况以及相关登记事项的说明",
            &["统计年度", "人口数"],
        ),
        doc("101001/000002", "published", "企业登记信息", "市场主体的基本信息", &["统一社会信用代码", "企业名称"]),
        doc("101001/000003", "published", "企业名录", "规模以上工业企业名单", &["企业名称"]),
        doc("101002/000004", "published", "居民户籍信息", "公安机关登记的常住人口户籍", &["姓名", "公民身份号码"]),
        doc("101003/000005", "published", "企业营业执照信息", "营业执照的发放与变更", &["注册号"]),
        doc("101003/000006", "published", "社会保险参保信息", "参保人员的身份证号与缴费记录", &["缴费基数"]),
        doc("101003/000007", "published", "婚姻登记记录", "婚姻登记机关的登记数据", &["身份证号", "登记日期"]),
    ]
}

#[test]
fn catalog_index_is_send_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<CatalogIndex>();
}

#[test]
fn segmentation_and_ranking() {
    let (_dir, idx) = tmp_index();
    idx.upsert(&ranking_corpus()).unwrap();
    assert_eq!(idx.num_docs(), 7);

    // Both words required; name match ranks first; summary-only match still found.
    let r = idx.search(&text("企业 登记")).unwrap();
    assert_eq!(codes(&r), vec!["101001/000002", "101001/000001"]);
    assert_eq!(r.total, 2);
    assert!(r.hits[0].score > r.hits[1].score);

    // Same without the space.
    let r = idx.search(&text("企业登记")).unwrap();
    assert_eq!(r.hits[0].code, "101001/000002");

    // Word inside a longer indexed word, and different jieba segmentation.
    let r = idx.search(&text("户籍")).unwrap();
    assert_eq!(codes(&r), vec!["101002/000004"]);
    let r = idx.search(&text("营业执照")).unwrap();
    assert_eq!(codes(&r), vec!["101003/000005"]);
    let r = idx.search(&text("执照信息")).unwrap();
    assert_eq!(codes(&r), vec!["101003/000005"]);

    // Single character.
    let r = idx.search(&text("户")).unwrap();
    assert_eq!(codes(&r), vec!["101002/000004"]);
    let r = idx.search(&text("婚")).unwrap();
    assert_eq!(codes(&r), vec!["101003/000007"]);

    // Item names weigh more than the summary.
    let r = idx.search(&text("身份证号")).unwrap();
    assert_eq!(codes(&r), vec!["101003/000007", "101003/000006"]);

    // Nothing matches.
    let r = idx.search(&text("气象 卫星")).unwrap();
    assert_eq!(r.total, 0);
    assert!(r.hits.is_empty());
    assert!(r.facets["status"].is_empty());
}

#[test]
fn latin_words_match_case_insensitively() {
    let idx = CatalogIndex::in_memory().unwrap();
    idx.upsert(&[doc("301001/000001", "published", "GDP数据汇总", "按季度PostgreSQL库表", &[])]).unwrap();
    for q in ["gdp", "GDP数据", "postgresql", "季度"] {
        assert_eq!(idx.search(&text(q)).unwrap().total, 1, "{q}");
    }
    assert_eq!(idx.search(&text("gd")).unwrap().total, 0);
}

#[test]
fn weird_query_strings_do_not_error() {
    let idx = CatalogIndex::in_memory().unwrap();
    idx.upsert(&ranking_corpus()).unwrap();
    let long = "企".repeat(10_000);
    let weird = [
        "\"",
        "(",
        ")",
        "AND",
        "OR NOT",
        ":",
        "name:企业",
        "企业 AND 登记",
        "\"企业登记",
        "*",
        "?",
        "~2",
        "[1 TO 2]",
        "\\",
        "+-!^{}",
        "",
        "   ",
        "😀",
        "'; DROP TABLE x; --",
        "\u{0}\u{7f}",
        long.as_str(),
    ];
    for w in weird {
        let r = idx.search(&text(w));
        assert!(r.is_ok(), "query {w:?} failed: {r:?}");
    }
    // Punctuation-only text is no text condition.
    assert_eq!(idx.search(&text("\"()")).unwrap().total, 7);
    // Operators are plain words.
    assert_eq!(idx.search(&text("企业 AND 登记")).unwrap().total, 0);
    // Syntax characters split words.
    let r = idx.search(&text("name:企业\"登记\"")).unwrap();
    assert_eq!(r.total, 0);
    let r = idx.search(&text("(企业)\"登记\"")).unwrap();
    assert_eq!(codes(&r), vec!["101001/000002", "101001/000001"]);
}

fn filter_corpus() -> Vec<IndexDoc> {
    let mut a = doc("101001/000001", "published", "企业登记信息", "", &[]);
    a.open = true;
    a.updated_at = 10;
    let mut b = doc("101002/000002", "published", "企业年报信息", "", &[]);
    b.provider_id = "dept-b".into();
    b.share_type = "conditional".into();
    b.updated_at = 20;
    let mut c = doc("201001/000003", "draft", "企业信用信息", "", &[]);
    c.lei = 2;
    c.update_cycle = "daily".into();
    c.region = "130100".into();
    c.updated_at = 30;
    let mut d = doc("301005/000004", "retired", "道路运输信息", "", &[]);
    d.lei = 3;
    d.provider_id = "dept-b".into();
    d.share_type = "not_shared".into();
    d.open = true;
    d.updated_at = 30;
    let mut e = doc("101001/000005", "submitted", "企业注销信息", "", &[]);
    e.provider_id = "dept-c".into();
    e.updated_at = 5;
    vec![a, b, c, d, e]
}

#[test]
fn filters() {
    let (_dir, idx) = tmp_index();
    idx.upsert(&filter_corpus()).unwrap();
    let all = SearchQuery { limit: 10, ..Default::default() };
    let run = |q: SearchQuery| {
        let mut c: Vec<String> = idx.search(&q).unwrap().hits.into_iter().map(|h| h.code).collect();
        c.sort();
        c
    };
    let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    assert_eq!(
        run(SearchQuery { provider: Some("dept-b".into()), ..all.clone() }),
        v(&["101002/000002", "301005/000004"])
    );
    assert_eq!(
        run(SearchQuery { class: Some("1".into()), ..all.clone() }),
        v(&["101001/000001", "101001/000005", "101002/000002"])
    );
    assert_eq!(
        run(SearchQuery { class: Some("101".into()), ..all.clone() }),
        v(&["101001/000001", "101001/000005", "101002/000002"])
    );
    assert_eq!(
        run(SearchQuery { class: Some("101001".into()), ..all.clone() }),
        v(&["101001/000001", "101001/000005"])
    );
    assert_eq!(run(SearchQuery { class: Some("1010011".into()), ..all.clone() }), Vec::<String>::new());
    assert_eq!(run(SearchQuery { share_type: Some("conditional".into()), ..all.clone() }), v(&["101002/000002"]));
    assert_eq!(run(SearchQuery { open: Some(true), ..all.clone() }), v(&["101001/000001", "301005/000004"]));
    assert_eq!(run(SearchQuery { open: Some(false), ..all.clone() }).len(), 3);
    assert_eq!(run(SearchQuery { update_cycle: Some("daily".into()), ..all.clone() }), v(&["201001/000003"]));
    assert_eq!(
        run(SearchQuery { status: vec!["published".into(), "retired".into()], ..all.clone() }),
        v(&["101001/000001", "101002/000002", "301005/000004"])
    );
    assert_eq!(run(SearchQuery { region: Some("130100".into()), ..all.clone() }), v(&["201001/000003"]));
    // Text and filters combined.
    assert_eq!(
        run(SearchQuery {
            text: Some("企业".into()),
            provider: Some("dept-a".into()),
            status: vec!["published".into()],
            ..all.clone()
        }),
        v(&["101001/000001"])
    );
}

#[test]
fn facets_cover_the_whole_result_set() {
    let idx = CatalogIndex::in_memory().unwrap();
    idx.upsert(&filter_corpus()).unwrap();
    let r = idx.search(&SearchQuery { limit: 1, ..Default::default() }).unwrap();
    assert_eq!(r.total, 5);
    assert_eq!(r.hits.len(), 1);
    let dims: Vec<&str> = r.facets.keys().map(String::as_str).collect();
    assert_eq!(dims, vec!["class", "open", "provider", "region", "share_type", "status", "update_cycle"]);
    assert_eq!(facet(&r, "provider"), pairs(&[("dept-a", 2), ("dept-b", 2), ("dept-c", 1)]));
    assert_eq!(facet(&r, "class"), pairs(&[("101", 3), ("201", 1), ("301", 1)]));
    assert_eq!(facet(&r, "share_type"), pairs(&[("unconditional", 3), ("conditional", 1), ("not_shared", 1)]));
    assert_eq!(facet(&r, "open"), pairs(&[("false", 3), ("true", 2)]));
    assert_eq!(facet(&r, "update_cycle"), pairs(&[("monthly", 4), ("daily", 1)]));
    assert_eq!(facet(&r, "status"), pairs(&[("published", 2), ("draft", 1), ("retired", 1), ("submitted", 1)]));
    assert_eq!(facet(&r, "region"), pairs(&[("130000", 4), ("130100", 1)]));

    // Facets follow the filters and the text query, and limit 0 still counts.
    let r = idx
        .search(&SearchQuery {
            text: Some("企业".into()),
            provider: Some("dept-a".into()),
            limit: 0,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.total, 2);
    assert!(r.hits.is_empty());
    assert_eq!(facet(&r, "provider"), pairs(&[("dept-a", 2)]));
    assert_eq!(facet(&r, "class"), pairs(&[("101", 1), ("201", 1)]));
    assert_eq!(facet(&r, "status"), pairs(&[("draft", 1), ("published", 1)]));
}

#[test]
fn no_text_sorts_by_updated_at_then_code() {
    let idx = CatalogIndex::in_memory().unwrap();
    idx.upsert(&filter_corpus()).unwrap();
    let r = idx.search(&SearchQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(codes(&r), vec!["201001/000003", "301005/000004", "101002/000002", "101001/000001", "101001/000005"]);
    assert!(r.hits.iter().all(|h| h.score == 0.0));
}

#[test]
fn visibility_of_non_public_docs() {
    let idx = CatalogIndex::in_memory().unwrap();
    let published = doc("101001/000001", "published", "企业登记信息", "", &[]);
    let mut draft_a = doc("101001/000001", "draft", "企业登记信息（修订）", "", &[]);
    draft_a.provider_id = "dept-a".into();
    let mut submitted_b = doc("101001/000002", "submitted", "企业年报信息", "", &[]);
    submitted_b.provider_id = "dept-b".into();
    let mut retired_b = doc("101001/000003", "retired", "企业旧名录", "", &[]);
    retired_b.provider_id = "dept-b".into();
    idx.upsert(&[published, draft_a, submitted_b, retired_b]).unwrap();

    let keys = |q: SearchQuery| {
        let mut k: Vec<String> = idx.search(&q).unwrap().hits.into_iter().map(|h| h.key).collect();
        k.sort();
        k
    };
    let base = SearchQuery { text: Some("企业".into()), limit: 10, restrict_non_public: true, ..Default::default() };
    assert_eq!(
        keys(SearchQuery { viewer_department: Some("dept-a".into()), ..base.clone() }),
        vec!["101001/000001@draft", "101001/000001@published", "101001/000003@retired"]
    );
    assert_eq!(
        keys(SearchQuery { viewer_department: Some("dept-b".into()), ..base.clone() }),
        vec!["101001/000001@published", "101001/000002@submitted", "101001/000003@retired"]
    );
    // The authority (no department) sees everything.
    assert_eq!(keys(base.clone()).len(), 4);
    // No visibility filter.
    assert_eq!(
        keys(SearchQuery { viewer_department: Some("dept-b".into()), restrict_non_public: false, ..base.clone() })
            .len(),
        4
    );
    // Total and facets follow the visibility rule too.
    let r = idx.search(&SearchQuery { viewer_department: Some("dept-c".into()), ..base }).unwrap();
    assert_eq!(r.total, 2);
    assert_eq!(facet(&r, "status"), pairs(&[("published", 1), ("retired", 1)]));
}

#[test]
fn upsert_replaces_by_key() {
    let (_dir, idx) = tmp_index();
    idx.upsert(&ranking_corpus()).unwrap();
    let mut changed = doc("101001/000002", "published", "市场主体名录", "", &[]);
    changed.updated_at = 1_800_000_000;
    idx.upsert(&[changed.clone()]).unwrap();
    assert_eq!(idx.num_docs(), 7);
    assert_eq!(codes(&idx.search(&text("企业 登记")).unwrap()), vec!["101001/000001"]);
    assert_eq!(codes(&idx.search(&text("市场主体")).unwrap()), vec!["101001/000002"]);
    // Same key twice in one batch: the last one wins.
    let mut again = changed.clone();
    again.name = "市场主体名单".into();
    idx.upsert(&[changed, again]).unwrap();
    assert_eq!(idx.num_docs(), 7);
    let r = idx.search(&SearchQuery { highlight: true, ..text("市场主体") }).unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(r.hits[0].name_highlight.as_deref(), Some("<mark>市场主体</mark>名单"));
    // A draft next to the published version is a separate document.
    idx.upsert(&[doc("101001/000002", "draft", "市场主体名单草稿", "", &[])]).unwrap();
    assert_eq!(idx.num_docs(), 8);
    assert_eq!(idx.search(&text("市场主体")).unwrap().total, 2);
}

#[test]
fn delete_by_key() {
    let idx = CatalogIndex::in_memory().unwrap();
    idx.upsert(&ranking_corpus()).unwrap();
    idx.delete(&["101001/000002@published".to_string(), "nope".to_string()]).unwrap();
    assert_eq!(idx.num_docs(), 6);
    assert_eq!(codes(&idx.search(&text("企业 登记")).unwrap()), vec!["101001/000001"]);
    idx.delete(&[]).unwrap();
    assert_eq!(idx.num_docs(), 6);
}

#[test]
fn rebuild_replaces_everything() {
    let (_dir, idx) = tmp_index();
    idx.upsert(&ranking_corpus()).unwrap();
    let mut new_docs = filter_corpus().into_iter();
    idx.rebuild(&mut new_docs).unwrap();
    assert_eq!(idx.num_docs(), 5);
    assert_eq!(idx.search(&text("户籍")).unwrap().total, 0);
    assert_eq!(idx.search(&text("企业")).unwrap().total, 4);
    idx.rebuild(&mut std::iter::empty()).unwrap();
    assert_eq!(idx.num_docs(), 0);
    assert_eq!(idx.search(&SearchQuery::default()).unwrap().total, 0);
}

#[test]
fn reopen_keeps_docs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("catalog-index");
    {
        let idx = CatalogIndex::open_or_create(&path).unwrap();
        idx.upsert(&ranking_corpus()).unwrap();
        assert_eq!(idx.num_docs(), 7);
    }
    let idx = CatalogIndex::open_or_create(&path).unwrap();
    assert_eq!(idx.num_docs(), 7);
    let r = idx.search(&text("企业 登记")).unwrap();
    assert_eq!(r.hits[0].code, "101001/000002");
    // Still writable after reopening.
    idx.delete(&["101001/000002@published".to_string()]).unwrap();
    assert_eq!(idx.num_docs(), 6);
}

#[test]
fn pagination_is_stable() {
    let idx = CatalogIndex::in_memory().unwrap();
    let docs: Vec<IndexDoc> = (0..25)
        .map(|i| {
            let mut d = doc(&format!("101001/{i:06}"), "published", &format!("企业登记信息{i}"), "", &[]);
            d.updated_at = 1000 + i64::from(i % 5);
            d
        })
        .collect();
    idx.upsert(&docs).unwrap();
    for q in [SearchQuery::default(), SearchQuery { text: Some("企业登记".into()), ..Default::default() }] {
        let mut seen = Vec::new();
        for page in 0..4 {
            let r = idx.search(&SearchQuery { offset: page * 10, limit: 10, ..q.clone() }).unwrap();
            assert_eq!(r.total, 25);
            assert_eq!(r.hits.len(), [10, 10, 5, 0][page]);
            seen.extend(r.hits.into_iter().map(|h| h.key));
        }
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 25, "pages overlap or miss docs");
    }
    // Huge offset/limit don't overflow.
    let r = idx.search(&SearchQuery { offset: usize::MAX, limit: usize::MAX, ..Default::default() }).unwrap();
    assert_eq!(r.total, 25);
    assert!(r.hits.is_empty());
    let r = idx.search(&SearchQuery { offset: 20, limit: usize::MAX, ..Default::default() }).unwrap();
    assert_eq!(r.hits.len(), 5);
}

#[test]
fn highlight_escapes_html() {
    let idx = CatalogIndex::in_memory().unwrap();
    idx.upsert(&[
        doc("101001/000001", "published", "<script>alert('企业')</script>登记&信息", "", &[]),
        doc("101001/000002", "published", "企业登记信息", "", &[]),
    ])
    .unwrap();
    let r = idx.search(&SearchQuery { highlight: true, ..text("企业 登记") }).unwrap();
    let by_code = |c: &str| r.hits.iter().find(|h| h.code == c).and_then(|h| h.name_highlight.clone()).unwrap();
    assert_eq!(
        by_code("101001/000001"),
        "&lt;script&gt;alert(&#39;<mark>企业</mark>&#39;)&lt;/script&gt;<mark>登记</mark>&amp;信息"
    );
    assert_eq!(by_code("101001/000002"), "<mark>企业登记</mark>信息");

    // No text: escaped name without marks; highlight off: None.
    let r = idx.search(&SearchQuery { highlight: true, limit: 10, ..Default::default() }).unwrap();
    assert!(r.hits.iter().any(
        |h| h.name_highlight.as_deref() == Some("&lt;script&gt;alert(&#39;企业&#39;)&lt;/script&gt;登记&amp;信息")
    ));
    let r = idx.search(&text("企业")).unwrap();
    assert!(r.hits.iter().all(|h| h.name_highlight.is_none()));
}
