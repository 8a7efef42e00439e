use crate::harness::{Backend, Server};
use crate::on_both;

async fn demo_serves_search(b: Backend) {
    let s = Server::demo(b).await;
    let t = s.login("gat_user").await;
    let (status, body) = s.get("catalog?q=企业%20登记&limit=5", &t).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["name"], "企业登记信息", "{body}");
    assert!(body["total"].as_u64().unwrap() >= 1);
}
on_both!(demo_serves_search, demo_serves_search);
