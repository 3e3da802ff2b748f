//! A real headless Chromium for the web page's tests: Debian's `chromium`
//! driven over WebDriver by `chromedriver` (installed by `scripts/test`),
//! through fantoccini. One chromedriver per test, one browser window per
//! simulated person.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Map, Value};

/// How long a page may take to show what a test waits for.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// The narrowest window headless Chromium makes, in CSS pixels.
const MIN_WINDOW_WIDTH: u32 = 500;

/// How often a test starts chromedriver before giving up on a free port.
const DRIVER_TRIES: u32 = 5;

/// How often a test tries to start a browser session.
const SESSION_TRIES: u32 = 3;

/// A running chromedriver on a free port; killed on drop with the browsers
/// it started (a test that fails, or never closes its window, would leave
/// a Chromium running after the suite).
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver on a port of its choosing. With `--port=0` it
    /// takes a free port on `::1` and then binds the same number on
    /// `127.0.0.1`, where the suite's other tests hold thousands of
    /// sockets; when one of them has it, chromedriver says `IPv4 port not
    /// available` and exits. That is a lost draw, not a failure: draw
    /// again.
    pub fn start() -> Self {
        for _ in 0..DRIVER_TRIES {
            if let Some(driver) = Self::try_start() {
                return driver;
            }
        }
        panic!("chromedriver found no free port in {DRIVER_TRIES} tries");
    }

    fn try_start() -> Option<Self> {
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            // A process group of its own, which its browsers join: dropping
            // the driver kills the group.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (./scripts/test installs chromium-driver)");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut said = String::new();
        let port = loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                assert!(
                    said.contains("port not available"),
                    "chromedriver exited before saying its port:\n{said}"
                );
                return None;
            }
            if let Some((_, port)) = line.trim_end().split_once("successfully on port ") {
                break port.trim_end_matches('.').parse::<u16>().unwrap();
            }
            said.push_str(&line);
        };
        // Keep the pipe drained so chromedriver never blocks on it.
        std::thread::spawn(move || for _ in stdout.lines() {});
        Some(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// A new browser window, `width` x `height` CSS pixels.
    pub async fn browser(&self, width: u32, height: u32) -> Page {
        self.browser_with(width, height, &[]).await
    }

    /// A new browser window started with extra Chromium `flags`.
    pub async fn browser_with(&self, width: u32, height: u32, flags: &[&str]) -> Page {
        let mut capabilities = Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-extensions",
                    "--no-first-run",
                    "--hide-scrollbars",
                    "--lang=en-GB",
                    format!("--window-size={width},{height}"),
                ],
            }),
        );
        let args = capabilities["goog:chromeOptions"]["args"]
            .as_array_mut()
            .unwrap();
        args.extend(flags.iter().map(|flag| json!(flag)));
        if width < MIN_WINDOW_WIDTH {
            // A window cannot be that narrow: emulate a phone's viewport instead.
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "mobile": true, "touch": false},
            });
        }
        capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        // Starting Chromium can fail now and then on a loaded machine; a
        // second try is not a second test.
        let mut tries = 0;
        loop {
            tries += 1;
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&self.url)
                .await
            {
                Ok(client) => return Page { client },
                Err(err) if tries < SESSION_TRIES => {
                    eprintln!("chromium session, try {tries}: {err}");
                }
                Err(err) => panic!("no chromium session after {tries} tries: {err}"),
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver's console log of the page (`goog:loggingPrefs`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// One browser window on the banter page.
pub struct Page {
    pub client: Client,
}

impl Page {
    /// Opens the page at `http` and enters as `name`; returns once the chat shows.
    pub async fn login(&self, http: std::net::SocketAddr, name: &str) {
        self.login_at(&format!("http://{http}/"), name).await;
    }

    /// Opens the page at `url` and enters as `name`; returns once the chat shows.
    pub async fn login_at(&self, url: &str, name: &str) {
        self.client.goto(url).await.unwrap();
        self.fill("#name-input", name).await;
        self.press_enter("#name-input").await;
        self.wait_until("!document.getElementById('app').hidden && document.getElementById('me').textContent === arguments[0]", &[json!(name)]).await;
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PAGE_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no {css}: {err}"))
    }

    /// Replaces the text of an input, as typing would.
    pub async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    pub async fn press_enter(&self, css: &str) {
        self.find(css).await.send_keys("\u{E007}").await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Types `keys` (WebDriver's key codes allowed) into whatever has focus.
    pub async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// Presses and releases the pointer at (`x`, `y`) in the viewport, as a
    /// finger would tap there: on whatever is on top at that point.
    pub async fn tap_at(&self, x: f64, y: f64) {
        let tap = MouseActions::new("finger".into())
            .then(PointerAction::MoveTo {
                duration: None,
                x,
                y,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client.perform_actions(tap).await.unwrap();
    }

    /// Clicks the button labelled `label` in the open dialog.
    pub async fn choose(&self, label: &str) {
        let xpath = format!("//dialog[@open]//button[normalize-space()='{label}']");
        self.client
            .wait()
            .at_most(PAGE_TIMEOUT)
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|err| panic!("no button {label:?} in an open dialog: {err}"))
            .click()
            .await
            .unwrap();
    }

    /// Types `line` into the message input and presses Enter.
    pub async fn say(&self, line: &str) {
        self.fill("#input", line).await;
        self.press_enter("#input").await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn eval(&self, script: &str, args: &[Value]) -> Value {
        self.client.execute(script, args.to_vec()).await.unwrap()
    }

    /// Waits until the expression `condition` is truthy in the page.
    pub async fn wait_until(&self, condition: &str, args: &[Value]) {
        let script = format!("return Boolean({condition});");
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            if self.eval(&script, args).await == json!(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {condition} {args:?}; the log shows {:?}",
                self.log_lines().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of every line of the message log, in order.
    pub async fn log_lines(&self) -> Vec<String> {
        let lines = self
            .eval(
                "return [...document.querySelectorAll('#messages li:not(.day)')].map(li => li.textContent);",
                &[],
            )
            .await;
        serde_json::from_value(lines).unwrap()
    }

    /// The message texts (not notices) of the open conversation.
    pub async fn message_texts(&self) -> Vec<String> {
        let texts = self
            .eval(
                "return [...document.querySelectorAll('#messages li.message')].map(li => (li.querySelector('.text') || li.querySelector('.body')).textContent);",
                &[],
            )
            .await;
        serde_json::from_value(texts).unwrap()
    }

    /// Waits until the open conversation shows a message whose text is `text`.
    pub async fn wait_for_message(&self, text: &str) {
        self.wait_until(
            "[...document.querySelectorAll('#messages li.message .text')].some(t => t.textContent === arguments[0])",
            &[json!(text)],
        )
        .await;
    }

    /// Waits until the open conversation shows a notice saying `text`.
    pub async fn wait_for_notice(&self, text: &str) {
        self.wait_until(
            "[...document.querySelectorAll('#messages li.notice .body')].some(t => t.textContent === arguments[0])",
            &[json!(text)],
        )
        .await;
    }

    /// Opens the sidebar entry of `key` (`room:name` or `pm:name`).
    pub async fn open_conversation(&self, key: &str) {
        self.click(&format!("#sidebar button[data-key='{key}']"))
            .await;
        self.wait_until(
            "document.querySelector(`#sidebar button[data-key='${arguments[0]}']`).getAttribute('aria-current') === 'page'",
            &[json!(key)],
        )
        .await;
    }

    /// The whole document as markup, plus the value of every input.
    pub async fn everything_in_the_dom(&self) -> String {
        let dom = self
            .eval(
                "return document.documentElement.outerHTML + [...document.querySelectorAll('input')].map(i => i.value).join('\\n');",
                &[],
            )
            .await;
        dom.as_str().unwrap().to_owned()
    }

    /// Every console message the page produced so far (chromedriver empties
    /// its buffer on each read).
    pub async fn console(&self) -> Vec<String> {
        let entries = self.client.issue_cmd(BrowserLog).await.unwrap();
        entries
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| format!("{} {}", entry["level"], entry["message"]))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}
