//! The self-service page in a real browser: headless Chromium driven over
//! WebDriver (Debian's `chromium` and `chromium-driver`; fantoccini),
//! against the real `pwsentry serve` on 127.0.0.1 with a real
//! passwd-file, and the real Dovecot authenticating what the page set.
//! Also the page's HTTP contract (headers, CSRF, asset budget) with a
//! plain HTTP client.

use crate::dovecot;
use crate::serve::{FAST_HASHING, NEW, OLD, Server, passwd_with};
use crate::util::write;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// What the page, its stylesheet and its script may weigh together.
const ASSET_BUDGET_BYTES: usize = 30 * 1024;
const WEAK: &str = "alice1";

/// One browser at a time: the machine is small, and Chromium is not.
static BROWSER: Mutex<()> = Mutex::new(());

/// A running chromedriver on a free loopback port; stopped when dropped,
/// after ending the browser sessions still open (a failed test never
/// reaches its own `close`, and chromedriver's browsers outlive it).
struct Driver {
    child: Child,
    url: String,
    sessions: Mutex<Vec<String>>,
}

impl Driver {
    fn start() -> Driver {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: install Debian's {package} (scripts/test.sh does); the page's browser tests need it"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let driver = Driver {
            child,
            url,
            sessions: Mutex::new(Vec::new()),
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut r) = agent.get(format!("{}/status", driver.url)).call()
                && r.body_mut()
                    .read_to_string()
                    .is_ok_and(|b| b.contains("\"ready\":true"))
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for id in sessions.iter() {
            // Already closed by the test: chromedriver answers 404.
            let _ = agent.delete(format!("{}/session/{id}", self.url)).call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with a fresh profile; `javascript: false`
/// switches scripts off through Chrome's managed content settings.
async fn browser(driver: &Driver, profile: &Path, javascript: bool) -> Client {
    let mut options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            format!("--user-data-dir={}", profile.display()),
            "--window-size=820,1000",
        ],
    });
    if !javascript {
        options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
    }
    let mut caps = Capabilities::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver");
    if let Some(id) = client.session_id().await.expect("the session id") {
        driver
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
    }
    client
}

/// chromedriver's console log (`goog:loggingPrefs`), which holds every
/// Content-Security-Policy violation the page caused.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or("")))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

async fn console(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.expect("the browser log");
    log.as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["message"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn csp_violations(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.contains("Content Security Policy") || l.contains("Refused to"))
        .collect()
}

/// Evaluates `expr` in the page.
async fn js(c: &Client, expr: &str) -> Value {
    c.execute(&format!("return ({expr});"), vec![])
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

/// Waits (at most 20 s, polling) until `expr` is true in the page: the
/// live regions update after the server answered, not at a fixed time.
async fn wait_until(c: &Client, expr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if js(c, expr).await == Value::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            let body = js(c, "document.body.innerText").await;
            panic!("timed out waiting for {expr}; the page shows:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Visible text whose contrast with its background is below WCAG AA
/// (4.5:1), as "text: ratio".
async fn low_contrast(c: &Client) -> Vec<String> {
    const CHECK: &str = r#"
      const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => {
        const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const background = el => {
        for (; el; el = el.parentElement) {
          const c = rgb(getComputedStyle(el).backgroundColor);
          if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
        }
        return [255, 255, 255];
      };
      const bad = [];
      for (const el of document.querySelectorAll('body *')) {
        const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || !el.getClientRects().length) continue;
        const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) bad.push(el.innerText.trim().slice(0, 40) + ': ' + ratio.toFixed(2));
      }
      return bad;"#;
    serde_json::from_value(c.execute(CHECK, vec![]).await.expect("contrast")).unwrap()
}

async fn text_of(c: &Client, id: &str) -> String {
    js(c, &format!("document.getElementById('{id}').innerText"))
        .await
        .as_str()
        .unwrap_or("")
        .to_owned()
}

async fn type_into(c: &Client, id: &str, text: &str) {
    let e = c.find(Locator::Id(id)).await.expect(id);
    e.clear().await.expect("clear");
    e.send_keys(text).await.expect("type");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The verdict messages `/v1/check` gives for `password` (the CLI's words).
fn messages(server: &Server, password: &str, account: &str) -> Vec<String> {
    let (status, v) = server.post_json(
        "/v1/check",
        &json!({"password": password, "account": account}),
    );
    assert_eq!(status, 200, "{v}");
    v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["message"].as_str().unwrap().to_owned())
        .collect()
}

/// The strength score `/v1/check` gives `password`.
fn messages_score(server: &Server, password: &str, account: &str) -> u8 {
    let (_, v) = server.post_json(
        "/v1/check",
        &json!({"password": password, "account": account}),
    );
    u8::try_from(v["score"].as_u64().unwrap()).unwrap()
}

fn get_with_headers(server: &Server, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut r = server
        .agent
        .get(format!("{}{path}", server.base))
        .call()
        .unwrap();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = r.body_mut().read_to_vec().unwrap();
    (r.status().as_u16(), headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map_or("", |(_, v)| v.as_str())
}

/// Where the test leaves the screenshot (a copy is docs/img/serve-page.png).
fn screenshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-page.png")
}

#[test]
fn page_headers_assets_and_branding() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "logo.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"40\"><circle cx=\"20\" cy=\"20\" r=\"18\" fill=\"#1d4ed8\"/></svg>",
    );
    write(
        dir.path(),
        "policy.toml",
        format!(
            "{FAST_HASHING}[serve]\ntitle = \"Example <Mail> & Co\"\nlogo = \"logo.svg\"\nhelp_url = \"https://help.example.org/passwords?a=1&b=2\"\n"
        ),
    );
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &[]);
    let (status, h, body) = get_with_headers(&server, "/");
    assert_eq!(status, 200);
    let html = String::from_utf8(body.clone()).unwrap();
    assert_eq!(
        header(&h, "content-security-policy"),
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(header(&h, "cache-control"), "no-store");
    assert_eq!(header(&h, "referrer-policy"), "no-referrer");
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    assert_eq!(header(&h, "content-type"), "text/html; charset=utf-8");
    let cookie = header(&h, "set-cookie");
    assert!(
        cookie.starts_with("pwsentry_csrf=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Branding, escaped; no inline script or style anywhere.
    assert!(
        html.contains("<title>Example &lt;Mail&gt; &amp; Co</title>"),
        "{html}"
    );
    assert!(html.contains("href=\"https://help.example.org/passwords?a=1&amp;b=2\""));
    assert!(!html.contains("<style") && !html.contains(" style=") && !html.contains("<script>"));
    assert!(html.contains("autocomplete=\"current-password\""));
    assert_eq!(html.matches("autocomplete=\"new-password\"").count(), 2);
    // Every asset the page names is served by pwsentry, content-named and
    // cached; together with the page they stay within the budget.
    let mut total = body.len();
    let assets: Vec<String> = html
        .split(['"'])
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_owned)
        .collect();
    assert_eq!(assets.len(), 3, "stylesheet, script, logo: {assets:?}");
    for path in &assets {
        let (status, h, body) = get_with_headers(&server, path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            header(&h, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(!header(&h, "content-security-policy").is_empty());
        let ct = header(&h, "content-type");
        if path.ends_with(".svg") {
            assert_eq!(ct, "image/svg+xml");
        } else {
            total += body.len();
            assert!(
                ct.starts_with(if path.ends_with(".js") {
                    "text/javascript"
                } else {
                    "text/css"
                }),
                "{ct}"
            );
        }
    }
    eprintln!("page + stylesheet + script: {total} bytes");
    assert!(total <= ASSET_BUDGET_BYTES, "{total} bytes over the budget");
    // Nothing from elsewhere: every src and href is this server's, but the help link.
    for attr in ["src=\"", "href=\""] {
        for link in html.split(attr).skip(1) {
            assert!(
                link.starts_with("/assets/") || link.starts_with("https://help.example.org/"),
                "{link}"
            );
        }
    }
    assert_eq!(
        get_with_headers(&server, "/assets/page.000000000000.css").0,
        404
    );
    server.stop();

    // A bad [serve] section is refused at start, naming the key.
    write(
        dir.path(),
        "policy.toml",
        format!("{FAST_HASHING}[serve]\nhelp_url = \"javascript:alert(1)\"\n"),
    );
    let out = crate::util::pwsentry([
        "--policy".as_ref(),
        dir.path().join("policy.toml").as_os_str(),
        "--db".as_ref(),
        dir.path().join("history.db").as_os_str(),
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
    ])
    .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("serve.help_url"), "{}", out.stderr);
    write(
        dir.path(),
        "policy.toml",
        format!("{FAST_HASHING}[serve]\nlogo = \"logo.png\"\n"),
    );
    write(dir.path(), "logo.png", "<svg/>");
    let out = crate::util::pwsentry([
        "--policy".as_ref(),
        dir.path().join("policy.toml").as_os_str(),
        "--db".as_ref(),
        dir.path().join("history.db").as_os_str(),
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
    ])
    .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a PNG image"), "{}", out.stderr);
}

#[test]
fn page_shows_failing_rules_live_a_mismatch_and_a_suggestion() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &[]);
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let account = "alice@example.com";
    let expected = messages(&server, WEAK, account);
    assert!(expected.len() >= 2, "{expected:?}");
    let suggested = runtime().block_on(async {
        let c = browser(&driver, profile.path(), true).await;
        c.goto(&server.base).await.unwrap();

        // Every field has a visible label; the live parts are aria-live.
        assert_eq!(
            js(&c, "Array.from(document.querySelectorAll('input:not([type=hidden])')).every(i => i.labels.length === 1 && i.labels[0].innerText.trim().length > 0)").await,
            Value::Bool(true)
        );
        for id in ["meter", "match", "result"] {
            assert_eq!(
                js(&c, &format!("document.getElementById('{id}').getAttribute('aria-live')")).await,
                json!("polite"),
                "{id}"
            );
        }
        assert_eq!(js(&c, "document.getElementById('suggest').hidden").await, json!(false));

        // Keyboard only: Tab walks the form in reading order.
        c.find(Locator::Id("account")).await.unwrap().click().await.unwrap();
        let mut order = vec![];
        for _ in 0..5 {
            c.active_element().await.unwrap()
                .send_keys(&char::from(fantoccini::key::Key::Tab).to_string())
                .await
                .unwrap();
            order.push(js(&c, "document.activeElement.id").await.as_str().unwrap().to_owned());
        }
        assert_eq!(order, ["current", "new", "suggest", "confirm", "submit"]);

        // A weak password: its failing rules appear live, in the CLI's words.
        type_into(&c, "account", account).await;
        type_into(&c, "new", WEAK).await;
        let want = serde_json::to_string(&expected).unwrap();
        wait_until(
            &c,
            &format!("JSON.stringify(Array.from(document.querySelectorAll('#rules li')).map(li => li.innerText)) === JSON.stringify({want})"),
        )
        .await;
        let meter = text_of(&c, "meter-text").await;
        let score = messages_score(&server, WEAK, account);
        assert_eq!(
            meter,
            format!("Strength {score}/4 ({}); not accepted yet:", pwsentry::strength::score_words(score)),
        );

        // The confirmation says whether it matches.
        type_into(&c, "confirm", "alice2").await;
        wait_until(&c, "document.getElementById('match').innerText === 'does not match'").await;
        assert_eq!(low_contrast(&c).await, Vec::<String>::new());
        c.screenshot().await.map(|png| std::fs::write(screenshot_path(), png).unwrap()).unwrap();
        type_into(&c, "confirm", WEAK).await;
        wait_until(&c, "document.getElementById('match').innerText === 'matches'").await;

        // "Suggest one" fills both fields with a password the policy
        // accepts, shows it once, and hides it when the field is edited.
        c.find(Locator::Id("suggest")).await.unwrap().click().await.unwrap();
        wait_until(&c, "document.getElementById('suggested').innerText.length > 0").await;
        let suggested = text_of(&c, "suggested").await;
        assert_eq!(js(&c, "document.getElementById('new').value").await, json!(suggested));
        assert_eq!(js(&c, "document.getElementById('confirm').value").await, json!(suggested));
        wait_until(&c, "document.getElementById('meter-text').innerText.endsWith('meets the rules so far')").await;
        wait_until(&c, "document.getElementById('match').innerText === 'matches'").await;
        assert_eq!(js(&c, "document.getElementById('suggestion').hidden").await, json!(false));
        c.find(Locator::Id("new")).await.unwrap().send_keys("x").await.unwrap();
        wait_until(&c, "document.getElementById('suggestion').hidden && document.getElementById('suggested').innerText === ''").await;
        wait_until(&c, "document.getElementById('match').innerText === 'does not match'").await;

        // A 360-pixel-wide phone: no horizontal scrolling.
        c.set_window_size(360, 760).await.unwrap();
        wait_until(&c, "window.innerWidth <= 360").await;
        let width = js(&c, "window.innerWidth").await.as_i64().unwrap();
        assert!(width >= 300, "the viewport really is phone-sized: {width}");
        assert_eq!(
            js(&c, "document.documentElement.scrollWidth <= document.documentElement.clientWidth").await,
            Value::Bool(true),
            "horizontal scroll at {width} px"
        );

        // The served HTML never holds what was typed.
        let source = served_page(&server);
        assert!(!source.contains(WEAK) && !source.contains(&suggested));
        let log = console(&c).await;
        assert!(csp_violations(&log).is_empty(), "{log:?}");
        c.close().await.unwrap();
        suggested
    });
    let (status, v) = server.post_json(
        "/v1/check",
        &json!({"password": suggested, "account": account}),
    );
    assert_eq!((status, &v["accepted"]), (200, &json!(true)), "{v}");
    let log = server.stop();
    assert!(!log.contains(WEAK) && !log.contains(&suggested), "{log}");
    let png = std::fs::read(screenshot_path()).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
}

/// The page as a fresh GET returns it (what a browser's "view source" sees).
fn served_page(server: &Server) -> String {
    String::from_utf8(get_with_headers(server, "/").2).unwrap()
}

#[test]
fn page_changes_the_password_and_dovecot_authenticates_it() {
    dovecot::require();
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let field = pwsentry::mailhash::dovecot_argon2id(
        &pwsentry::Password::from(OLD),
        &pwsentry::mailhash::MailHashParams::DOVECOT_DEFAULT,
    )
    .unwrap();
    let dovecot = dovecot::Dovecot::start(&format!("alice@example.com:{field}::::::\n"));
    assert!(dovecot.authenticates("alice@example.com", OLD));
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some(dovecot.users()), &[]);
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let c = browser(&driver, profile.path(), true).await;
        c.goto(&server.base).await.unwrap();
        type_into(&c, "account", "alice@example.com").await;
        type_into(&c, "current", "not-it").await;
        type_into(&c, "new", NEW).await;
        type_into(&c, "confirm", NEW).await;
        // Enter submits, as a keyboard user would.
        c.find(Locator::Id("confirm")).await.unwrap()
            .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
            .await
            .unwrap();
        wait_until(&c, "document.getElementById('result').innerText.includes('the account or the current password is wrong')").await;
        assert_eq!(js(&c, "document.getElementById('result').className").await, json!("bad"));
        assert_eq!(low_contrast(&c).await, Vec::<String>::new());
        assert!(dovecot.authenticates("alice@example.com", OLD), "nothing changed");

        type_into(&c, "current", OLD).await;
        c.find(Locator::Id("submit")).await.unwrap().click().await.unwrap();
        wait_until(&c, "document.getElementById('result').innerText.includes('Your password was changed.')").await;
        assert_eq!(js(&c, "document.activeElement.id").await, json!("result"), "the outcome gets the focus");
        assert_eq!(low_contrast(&c).await, Vec::<String>::new());
        assert_eq!(
            js(&c, "['current','new','confirm'].every(id => document.getElementById(id).value === '')").await,
            Value::Bool(true)
        );
        let log = console(&c).await;
        assert!(csp_violations(&log).is_empty(), "{log:?}");
        c.close().await.unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dovecot.authenticates("alice@example.com", NEW) {
        assert!(
            Instant::now() < deadline,
            "Dovecot never accepted the new password"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!dovecot.authenticates("alice@example.com", OLD));
    let log = server.stop();
    for secret in [OLD, NEW, "not-it"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}

#[test]
fn page_works_without_javascript_and_refuses_forged_posts() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let users = passwd_with(dir.path(), OLD);
    let server = Server::start(dir.path(), Some(&users), &[]);
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let expected = messages(&server, WEAK, "alice@example.com");
    runtime().block_on(async {
        let c = browser(&driver, profile.path(), false).await;
        c.goto(&server.base).await.unwrap();
        // No script ran: the button it would reveal is still hidden.
        assert!(
            !c.find(Locator::Id("suggest"))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        );

        let submit = async |current: &str, new: &str, confirm: &str| {
            type_into(&c, "account", "alice@example.com").await;
            type_into(&c, "current", current).await;
            type_into(&c, "new", new).await;
            type_into(&c, "confirm", confirm).await;
            let old_page = c.find(Locator::Id("change")).await.unwrap();
            c.find(Locator::Id("submit"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            // Wait for the server's answer to replace the page.
            let deadline = Instant::now() + Duration::from_secs(20);
            while old_page.tag_name().await.is_ok() {
                assert!(Instant::now() < deadline, "the form was never answered");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            c.source().await.unwrap()
        };

        // A weak password: every reason, rendered by the server.
        let html = submit(OLD, WEAK, WEAK).await;
        let reasons: Vec<String> = serde_json::from_value(
            js(
                &c,
                "Array.from(document.querySelectorAll('#result li')).map(li => li.innerText)",
            )
            .await,
        )
        .unwrap();
        assert_eq!(reasons, expected);
        assert!(
            !html.contains(WEAK) && !html.contains(OLD),
            "no password in the page"
        );
        assert_eq!(
            js(
                &c,
                "[document.getElementById('account').value, document.getElementById('new').value]"
            )
            .await,
            json!(["alice@example.com", ""])
        );

        // A mismatch, then the change itself.
        submit(OLD, NEW, "New#Velvet#Harbor78").await;
        assert!(text_of(&c, "result").await.contains("do not match"));
        let html = submit(OLD, NEW, NEW).await;
        assert!(
            text_of(&c, "result")
                .await
                .contains("Your password was changed."),
            "{html}"
        );
        assert!(!html.contains(NEW) && !html.contains(OLD));
        let log = console(&c).await;
        assert!(csp_violations(&log).is_empty(), "{log:?}");
        c.close().await.unwrap();
    });
    let field = pwsentry::passwd_file::PasswdFile::new(&users)
        .password_field("alice@example.com")
        .unwrap()
        .unwrap();
    assert!(pwsentry::mailhash::verify(&field, &pwsentry::Password::from(NEW)).unwrap());

    // Forged posts: no cookie, a token for another nonce, another site.
    let (_, h, body) = get_with_headers(&server, "/");
    let cookie = header(&h, "set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = String::from_utf8(body).unwrap();
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let form = format!(
        "csrf={token}&account=alice%40example.com&current_password=x&new_password=Other%23Tundra%23Lantern5&confirm_password=Other%23Tundra%23Lantern5"
    );
    let post = |cookie: Option<&str>, extra: Option<(&str, &str)>, body: &str| {
        let mut req = server
            .agent
            .post(format!("{}/", server.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        if let Some((k, v)) = extra {
            req = req.header(k, v);
        }
        let mut r = req.send(body.as_bytes()).unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let other_nonce = format!("pwsentry_csrf={:032x}", 1u128);
    for (cookie, extra) in [
        (None, None),
        (Some(other_nonce.as_str()), None),
        (
            Some(cookie.as_str()),
            Some(("Sec-Fetch-Site", "cross-site")),
        ),
        (
            Some(cookie.as_str()),
            Some(("Origin", "https://evil.example")),
        ),
    ] {
        let (status, page) = post(cookie, extra, &form);
        assert_eq!(status, 403, "{cookie:?} {extra:?}: {page}");
        assert!(page.contains("not sent from this page"), "{page}");
        assert!(!page.contains("Other#Tundra"), "{page}");
    }
    // What the page echoes (the address) is escaped.
    let hostile = form.replace(
        "account=alice%40example.com",
        "account=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    );
    let (status, page) = post(None, None, &hostile);
    assert_eq!(status, 403);
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{page}"
    );
    // With the right pair the same post reaches the change (and its wrong
    // current password).
    let (status, page) = post(
        Some(&cookie),
        Some(("Sec-Fetch-Site", "same-origin")),
        &form,
    );
    assert_eq!(status, 403);
    assert!(
        page.contains("the account or the current password is wrong"),
        "{page}"
    );
    // The page shares the change's lockout: five wrong current passwords
    // for the account, and even the right one is refused.
    for _ in 0..4 {
        let (status, _) = post(
            Some(&cookie),
            Some(("Sec-Fetch-Site", "same-origin")),
            &form,
        );
        assert_eq!(status, 403);
    }
    let right = form.replace(
        "current_password=x",
        "current_password=New%23Velvet%23Harbor77",
    );
    let (status, page) = post(
        Some(&cookie),
        Some(("Sec-Fetch-Site", "same-origin")),
        &right,
    );
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("too many wrong current passwords"), "{page}");
    // The JSON change endpoint still refuses a form.
    let (status, _) = server.post_raw(
        "/v1/change",
        "application/x-www-form-urlencoded",
        form.into_bytes(),
    );
    assert_eq!(status, 415);
    let log = server.stop();
    for secret in [OLD, NEW, WEAK, "Other#Tundra#Lantern5"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}
