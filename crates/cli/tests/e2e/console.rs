//! The web console over real HTTP, as a browser without script sees it: redirects to the login page, CSRF
//! rejection, department isolation in the HTML, and forms that keep the input with each error at its field.

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::harness::{Backend, DEMO_PASSWORD, Server};
use crate::on_both;

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A cookie-keeping client that does not follow redirects.
pub(crate) struct Browser<'a> {
    s: &'a Server,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) location: String,
    pub(crate) body: String,
    set_cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(s: &'a Server) -> Browser<'a> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { s, http, cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let resp = req.header(COOKIE, self.cookie_header()).send().await.unwrap();
        let status = resp.status();
        let location = resp.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let set_cookies: Vec<String> =
            resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for c in &set_cookies {
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let body = resp.text().await.unwrap();
        Page { status, location, body, set_cookies }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(self.s.url(path));
        self.send(req).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let req =
            self.http.post(self.s.url(path)).header("content-type", "application/x-www-form-urlencoded").body(body);
        self.send(req).await
    }

    /// The CSRF token of the forms on a page.
    pub(crate) fn csrf(page: &Page) -> String {
        let at = page.body.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token");
        let rest = &page.body[at + 20..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    pub(crate) async fn login(&mut self, user: &str) {
        let form = self.get("/login").await;
        let token = Browser::csrf(&form);
        let done = self
            .post("/login", &[("_csrf", &token), ("username", user), ("password", DEMO_PASSWORD), ("next", "/")])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "login {user}: {}", done.body);
        let session = done.set_cookies.iter().find(|c| c.starts_with("sq_session=")).expect("session cookie");
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"),
            "{session}"
        );
    }

    /// A form token for POSTs, from the home page.
    pub(crate) async fn token(&mut self) -> String {
        let home = self.get("/").await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        Browser::csrf(&home)
    }
}

async fn session_csrf_and_error_pages(b: Backend) {
    let s = Server::demo(b).await;
    let mut anon = Browser::new(&s);
    let home = anon.get("/applications?as=consumer").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location, "/login?next=/applications%3Fas%3Dconsumer");
    let missing = anon.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("页面不存在") && missing.body.contains("lang=\"zh-CN\""), "{}", missing.body);
    let missing_en = anon.get("/no/such/page?lang=en").await;
    assert!(missing_en.body.contains("Page not found"), "{}", missing_en.body);
    let api = s.http.get(s.url("/api/v1/no/such")).send().await.unwrap();
    assert_eq!(api.headers()["content-type"], "application/problem+json");

    // Login refuses a form without its token; a wrong password keeps the username and says why.
    let mut u = Browser::new(&s);
    let no_token = u.post("/login", &[("username", "gat_catalog"), ("password", DEMO_PASSWORD)]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let form = u.get("/login").await;
    let t = Browser::csrf(&form);
    let wrong = u.post("/login", &[("_csrf", &t), ("username", "gat_catalog"), ("password", "nope")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("用户名或密码错误") && wrong.body.contains("value=\"gat_catalog\""), "{}", wrong.body);

    u.login("gat_catalog").await;
    let home = u.get("/").await;
    assert!(home.body.contains("待办事项") && home.body.contains("gat_catalog"), "{}", home.body);
    // A deep link survives the login.
    let mut deep = Browser::new(&s);
    let form = deep.get("/login?next=/catalog%3Fq%3D%E4%BC%81%E4%B8%9A").await;
    let t = Browser::csrf(&form);
    let done = deep
        .post(
            "/login",
            &[("_csrf", &t), ("username", "scjg_user"), ("password", DEMO_PASSWORD), ("next", "/catalog?q=企业")],
        )
        .await;
    assert_eq!(done.location, "/catalog?q=%E4%BC%81%E4%B8%9A");
    let off_site = deep.get("/login?next=//evil.example").await;
    assert!(off_site.body.contains("name=\"next\" value=\"/\""), "{}", off_site.body);

    // Every POST needs the session's token: without it nothing happens and the page says why.
    let code = "101001/000001";
    let forged = u.post(&format!("/catalog/{code}/retire"), &[("_csrf", "0000")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("表单已失效"), "{}", forged.body);
    let token = u.token().await;
    // A real token of another session does not work either.
    let other = deep.token().await;
    assert_ne!(token, other);
    let cross = u.post(&format!("/catalog/{code}/retire"), &[("_csrf", &other)]).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    // Logout ends the session on the server: the old cookie no longer opens pages.
    let old = u.cookies.clone();
    let out = u.post("/logout", &[("_csrf", &token)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location, "/login?out=1");
    u.cookies = old;
    assert_eq!(u.get("/").await.status, StatusCode::SEE_OTHER);
}
on_both!(console_session_csrf_and_error_pages, session_csrf_and_error_pages);

async fn isolation_and_forms(b: Backend) {
    let s = Server::demo(b).await;
    let mut cat = Browser::new(&s);
    cat.login("gat_catalog").await;
    let token = cat.token().await;

    // A draft with errors: every error at its field, the input kept.
    let bad = cat
        .post(
            "/catalog/new",
            &[
                ("_csrf", &token),
                ("class", "301001"),
                ("name", ""),
                ("summary", "保留这段摘要文字"),
                ("format_category", "数据库"),
                ("format_type", "PostgreSQL"),
                ("items", "公民身份号码,X,18,否"),
                ("share_type", "conditional"),
                ("share_condition", "仅限核验"),
                ("modes", "query"),
                ("update_cycle", "daily"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("id=\"name-error\""), "{}", bad.body);
    assert!(bad.body.contains("id=\"items-error\""), "{}", bad.body);
    assert!(bad.body.contains("保留这段摘要文字") && bad.body.contains("公民身份号码,X,18,否"), "{}", bad.body);

    // A valid draft of 公安厅, with a name no other department may see.
    let secret_name = "控制台隔离测试草稿资源";
    let ok = cat
        .post(
            "/catalog/new",
            &[
                ("_csrf", &token),
                ("class", "301001"),
                ("name", secret_name),
                ("summary", "仅用于测试部门隔离的草稿。"),
                ("format_category", "数据库"),
                ("format_type", "PostgreSQL"),
                ("items", "公民身份号码,C,18,否,重要\n姓名,C,50,否"),
                ("share_type", "conditional"),
                ("share_condition", "仅限核验"),
                ("modes", "query"),
                ("update_cycle", "daily"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let href = ok.location.clone();
    assert!(href.starts_with("/catalog/301001/"), "{href}");
    let detail = cat.get(&href).await;
    assert!(detail.body.contains(secret_name) && detail.body.contains("已保存"), "{}", detail.body);

    // A stale edit form says so instead of overwriting.
    let edit = cat.get(&format!("{href}/edit")).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    let stale = cat
        .post(
            &format!("{href}/edit"),
            &[("_csrf", &token), ("updated_at", "2000-01-01T00:00:00Z"), ("name", "新名称"), ("summary", "x")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stale.body.contains("已被他人修改") && stale.body.contains("新名称"), "{}", stale.body);

    // 市场监管局 never sees the draft: not in search, not by its URL.
    let mut other = Browser::new(&s);
    other.login("scjg_user").await;
    let search = other.get(&format!("/catalog?q={secret_name}")).await;
    assert_eq!(search.status, StatusCode::OK);
    // The query is echoed in the search box; the entry itself must not be listed.
    assert!(!search.body.contains(&href), "{}", search.body);
    assert_eq!(search.body.matches(secret_name).count(), 1, "{}", search.body);
    let direct = other.get(&href).await;
    assert_eq!(direct.status, StatusCode::NOT_FOUND);
    assert!(!direct.body.contains(secret_name));
    let drafts = other.get("/catalog?status=draft").await;
    assert!(!drafts.body.contains(secret_name));

    // 市场监管局 applies through the console; the deadline is shown first.
    let form = other.get("/applications/new?resource=303001/000001").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("id=\"deadline\"") && form.body.contains('年'), "{}", form.body);
    let t2 = Browser::csrf(&form);
    let missing = other
        .post(
            "/applications/new",
            &[("_csrf", &t2), ("resource", "303001/000001"), ("items", "姓名"), ("basis", "保留的依据")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", missing.body);
    assert!(missing.body.contains("purpose_kind-error") && missing.body.contains("保留的依据"), "{}", missing.body);
    let applied = other
        .post(
            "/applications/new",
            &[
                ("_csrf", &t2),
                ("resource", "303001/000001"),
                ("items", "姓名"),
                ("purpose_kind", "administrative_basis"),
                ("purpose_text", "企业开办审批中核验身份"),
                ("basis", "《市场主体登记管理条例》第十七条"),
                ("modes", "query"),
                ("valid_until", "2027-05-21"),
            ],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let app_href = applied.location.clone();
    let app_id = app_href.rsplit('/').next().unwrap().to_owned();

    // A third department sees neither the application in its list nor the page.
    let mut third = Browser::new(&s);
    third.login("rst_user").await;
    let list = third.get("/applications").await;
    assert!(!list.body.contains(&app_id), "{}", list.body);
    assert_eq!(third.get(&app_href).await.status, StatusCode::NOT_FOUND);

    // The provider's reviewer finds it in the inbox and approves it; the consumer sees the grant.
    let mut rev = Browser::new(&s);
    rev.login("gat_review").await;
    let inbox = rev.get("/").await;
    assert!(inbox.body.contains(&app_href), "{}", inbox.body);
    let rt = Browser::csrf(&inbox);
    let approved =
        rev.post(&format!("{app_href}/approve"), &[("_csrf", &rt), ("items", "姓名"), ("mask.姓名", "name")]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let shown = rev.get(&app_href).await;
    assert!(shown.body.contains("已同意"), "{}", shown.body);
    let grants = other.get("/grants?as=consumer").await;
    assert!(grants.body.contains("303001/000001"), "{}", grants.body);
    let third_grants = third.get("/grants").await;
    assert!(!third_grants.body.contains("303001/000001"), "{}", third_grants.body);
}
on_both!(console_isolation_and_forms, isolation_and_forms);

async fn sessions_expire(b: Backend) {
    let s = Server::start_with(b, "serve", &["--session-seconds", "2"]).await;
    let mut admin = Browser::new(&s);
    let form = admin.get("/login").await;
    let t = Browser::csrf(&form);
    let done = admin
        .post(
            "/login",
            &[
                ("_csrf", &t),
                ("username", "admin"),
                ("password", crate::harness::ADMIN_PASSWORD),
                ("next", "/admin/users"),
            ],
        )
        .await;
    assert_eq!(done.location, "/admin/users");
    let cookie = done.set_cookies.iter().find(|c| c.starts_with("sq_session=")).unwrap();
    assert!(cookie.contains("Max-Age=2") || cookie.contains("Max-Age=1"), "{cookie}");
    let users = admin.get("/admin/users").await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.body);
    assert!(users.body.contains("系统管理员"), "{}", users.body);
    // The cookie is kept on purpose: the server, not the browser, decides that the session is over.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let after = admin.get("/admin/users").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location, "/login?next=/admin/users");
}
on_both!(console_sessions_expire, sessions_expire);

async fn refusal_dispute_and_coordination(b: Backend) {
    let s = Server::demo(b).await;
    let mut user = Browser::new(&s);
    user.login("scjg_user").await;
    let form = user.get("/applications/new?resource=303001/000001").await;
    let t = Browser::csrf(&form);
    let applied = user
        .post(
            "/applications/new",
            &[
                ("_csrf", &t),
                ("resource", "303001/000001"),
                ("items", "姓名"),
                ("purpose_kind", "work_reference"),
                ("purpose_text", "核对法定代表人"),
                ("basis", "《市场主体登记管理条例》"),
                ("modes", "query"),
                ("valid_until", "2027-05-21"),
            ],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let href = applied.location.clone();

    // A refusal needs its reason: the page says so and nothing changes.
    let mut rev = Browser::new(&s);
    rev.login("gat_review").await;
    let rt = rev.token().await;
    let no_reason = rev.post(&format!("{href}/refuse"), &[("_csrf", &rt)]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_reason.body);
    assert!(rev.get(&href).await.body.contains("待答复"));
    let refused = rev.post(&format!("{href}/refuse"), &[("_csrf", &rt), ("reason", "用途与共享条件不符")]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    // Answering twice is a conflict, shown as such.
    let again = rev.post(&format!("{href}/approve"), &[("_csrf", &rt)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("状态已变化"), "{}", again.body);

    // The consumer disputes; the authority decides from its inbox.
    let page = user.get(&href).await;
    assert!(page.body.contains("用途与共享条件不符") && page.body.contains("申请协商"), "{}", page.body);
    let ut = Browser::csrf(&page);
    let disputed = user.post(&format!("{href}/dispute"), &[("_csrf", &ut), ("reason", "该用途属于法定职责")]).await;
    assert_eq!(disputed.status, StatusCode::SEE_OTHER, "{}", disputed.body);
    let mut auth = Browser::new(&s);
    auth.login("authority").await;
    let inbox = auth.get("/").await;
    assert!(inbox.body.contains(&href) && inbox.body.contains("协调裁决"), "{}", inbox.body);
    let at = Browser::csrf(&inbox);
    let decided = auth
        .post(
            &format!("{href}/coordinate"),
            &[("_csrf", &at), ("decision", "approve"), ("reason", "属于法定职责，应予共享")],
        )
        .await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    let done = user.get(&href).await;
    assert!(done.body.contains("已同意"), "{}", done.body);
    assert!(user.get("/grants?as=consumer").await.body.contains("303001/000001"));
}
on_both!(console_refusal_dispute_and_coordination, refusal_dispute_and_coordination);

/// The monitoring page counts data accesses (refused ones too) by consumer department, from the audit log; other
/// roles may not see it.
async fn monitoring_counts_data_accesses(b: Backend) {
    let s = Server::demo(b).await;
    let mut authority = Browser::new(&s);
    authority.login("authority").await;
    let page = authority.get("/monitor").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("数据访问量（近30天，按日）"), "{}", page.body);
    let user = s.login("scjg_user").await;
    let (_, me) = s.get("me", &user).await;
    let dept = me["department"]["name"].as_str().unwrap().to_owned();
    assert!(!page.body.contains(&format!("{dept}: ")), "no accesses yet");
    // Three queries without a grant: refused, audited, counted.
    for _ in 0..3 {
        let (st, body) = s.get("data/301001/000001/records?公民身份号码=130102198001010010", &user).await;
        assert!(st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND, "{st} {body}");
    }
    let page = authority.get("/monitor").await;
    assert!(page.body.contains(&format!("{dept}: 3</title>")), "{}", page.body);
    // A consumer gets the console's 403 page, not the figures.
    let mut consumer = Browser::new(&s);
    consumer.login("scjg_user").await;
    let page = consumer.get("/monitor").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(!page.body.contains(&format!("{dept}: 3")));
}
on_both!(console_monitoring_counts_data_accesses, monitoring_counts_data_accesses);
