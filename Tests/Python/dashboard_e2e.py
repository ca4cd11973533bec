"""The Atrarium dashboard in a real browser (headless Chromium via selenium).

Two people of the server use it: the owner signs in through OAuth (the
server's own sign-in and consent pages), creates an invite-only community
(a wrong feedMix sum is refused beside the field first), and reads its
hashtag; the member signs in and asks to join; the owner approves; the
member posts with the hashtag (through XRPC, as an app would); the owner
sees the post in the feed page, hides it, sees it gone and the history
with its reason. Then forged and bad form posts are refused and change
nothing, and the Japanese pages are served. Screenshots of each page go
to SCREENSHOT_DIR.

Usage: dashboard_e2e.py BASE_URL OWNER PASSWORD MEMBER PASSWORD SCREENSHOT_DIR
Prints a line per step and "OK"; exits non-zero on the first failure.
"""

import atexit
import os
import sys
import time

import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

base, owner, owner_pw, member, member_pw, shots = sys.argv[1:7]
os.makedirs(shots, exist_ok=True)


def step(text):
    print(text, flush=True)


options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,1200"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)
atexit.register(driver.quit)
# A form post replaces the page: an element read while it does goes stale.
wait = WebDriverWait(driver, 20, ignored_exceptions=[StaleElementReferenceException])


def shot(name):
    driver.save_screenshot(os.path.join(shots, name + ".png"))


def by_id(element_id):
    try:
        return wait.until(EC.presence_of_element_located((By.ID, element_id)))
    except Exception:
        shot("failed-waiting-for-" + element_id)
        with open(os.path.join(shots, "failed-page.html"), "w") as page:
            page.write(driver.page_source)
        raise


def sign_in(handle, password, prefix):
    """The dashboard's handle form, then the PDS's sign-in and consent pages."""
    driver.delete_all_cookies()
    driver.get(base + "/dashboard")
    field = by_id("identifier")
    if prefix == "owner":
        shot("01-dashboard-sign-in")
    field.send_keys(handle)
    driver.find_element(By.ID, "sign-in").click()
    # The authorization server's pages: its sign-in form, unless this
    # browser is still signed in there as that account (its device cookie
    # is scoped to /oauth, out of reach of delete_all_cookies here).
    wait.until(lambda d: d.find_elements(By.ID, "password") or d.find_elements(By.ID, "allow"))
    if driver.find_elements(By.ID, "password"):
        identifier = driver.find_element(By.ID, "identifier")
        assert identifier.get_attribute("value") == handle, "login_hint was not carried to the sign-in page"
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.ID, "sign-in").click()
    allow = by_id("allow")
    assert handle in driver.page_source, "the consent page is for another account"
    if prefix == "owner":
        shot("02-pds-consent")
    assert "net.atrarium" in driver.page_source, "the consent page does not name the Atrarium records"
    allow.click()
    who = by_id("who")
    assert who.text == "@" + handle, who.text
    step("%s signed in through OAuth as %s" % (prefix, who.text))


def fill(element_id, value):
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(value)


def reload_until(condition, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        driver.refresh()
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + what)


# The owner signs in and creates a community; a wrong sum is refused beside the field.
sign_in(owner, owner_pw, "owner")
shot("03-my-communities-empty")
driver.find_element(By.LINK_TEXT, "New community").click()
fill("name", "Herons of the bay")
fill("description", "Birds, mostly herons.")
Select(driver.find_element(By.ID, "accessType")).select_by_value("invite-only")
fill("mix-own", "60")
fill("mix-parent", "30")
fill("mix-global", "0")
assert "90" in by_id("mix-sum").text, "the live sum does not show 90: %r" % by_id("mix-sum").text
shot("04-new-community-wrong-sum-live")
driver.find_element(By.ID, "create").click()
error = by_id("feedMix-error")
assert "100" in error.text, error.text
assert driver.find_element(By.ID, "name").get_attribute("value") == "Herons of the bay", "the form lost what was typed"
shot("05-new-community-refused")
step("a feedMix summing to 90 is refused beside the field: %s" % error.text)
fill("mix-own", "100")
fill("mix-parent", "0")
# Submitted from the keyboard: Enter in a field sends the form.
driver.find_element(By.ID, "mix-parent").send_keys(Keys.ENTER)
hashtag = by_id("hashtag").text
assert hashtag.startswith("#atrarium_") and len(hashtag) == 18, hashtag
community_url = driver.current_url.split("?")[0]
community_id = community_url.rsplit("/", 1)[1]
assert by_id("feed-uri").text.startswith("at://did:"), by_id("feed-uri").text
assert "published" in by_id("generator-state").text, by_id("generator-state").text
shot("06-community-created")
step("created community %s with hashtag %s" % (community_id, hashtag))

# The member signs in and asks to join.
sign_in(member, member_pw, "member")
driver.get(community_url)
by_id("join").click()
by_id("pending")
shot("07-member-asked-to-join")
step("the member asked to join")

# The owner approves.
sign_in(owner, owner_pw, "owner-again")
driver.get(community_url + "/members")
by_id("pending-members")
shot("08-members-pending")
driver.find_element(By.CSS_SELECTOR, "#pending-members button[name=approve]").click()
wait.until(lambda d: "@" + member in d.find_element(By.ID, "active-members").text)
shot("09-members-approved")
step("the owner approved the member")

# The member posts with the hashtag, as an app would (XRPC).
session = requests.post(base + "/xrpc/com.atproto.server.createSession",
                        json={"identifier": member, "password": member_pw}, timeout=10).json()
text = "A grey heron on the jetty %s" % hashtag
created = requests.post(base + "/xrpc/com.atproto.repo.createRecord", timeout=10,
                        headers={"Authorization": "Bearer " + session["accessJwt"]},
                        json={"repo": session["did"], "collection": "app.bsky.feed.post",
                              "record": {"$type": "app.bsky.feed.post", "text": text,
                                         "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}})
assert created.status_code == 200, created.text
post_uri = created.json()["uri"]

driver.get(community_url)
reload_until(lambda: text in driver.find_element(By.ID, "feed").text, "the post in the feed page")
assert "@" + member in driver.find_element(By.ID, "feed").text
shot("10-feed-with-post")
step("the post is in the feed page")

# The charts show the real counts: one post today, two members (owner and member).
today = time.strftime("%m-%d", time.gmtime())
posts_desc = driver.find_element(By.CSS_SELECTOR, "#chart-posts desc").get_attribute("textContent")
members_desc = driver.find_element(By.CSS_SELECTOR, "#chart-members desc").get_attribute("textContent")
lag_desc = driver.find_element(By.CSS_SELECTOR, "#chart-lag desc").get_attribute("textContent")
assert posts_desc.endswith("%s: 1" % today), posts_desc
assert members_desc.endswith("%s: 2" % today), members_desc
assert lag_desc.split(", ")[-1].startswith(today + ": ") and lag_desc.endswith(" s"), lag_desc
assert len(driver.find_elements(By.CSS_SELECTOR, "#chart-posts svg rect")) == 1, "one bar for the one day with a post"
driver.execute_script("document.getElementById('activity-heading').scrollIntoView()")
shot("10b-activity-charts")
step("the charts show 1 post today, 2 members, and the indexing lag: %s" % lag_desc.split(", ")[-1])

article = driver.find_element(By.CSS_SELECTOR, "article.post[data-uri='%s']" % post_uri)
Select(article.find_element(By.TAG_NAME, "select")).select_by_value("off_topic")
article.find_element(By.CSS_SELECTOR, "button[name=hide]").click()
wait.until(lambda d: "hidden" in d.current_url or "notice=hidden" in d.current_url)
reload_until(lambda: text not in driver.find_element(By.ID, "feed").text, "the hidden post to leave the feed")
shot("11-feed-after-hide")
step("the owner hid the post; it left the feed")

driver.get(community_url + "/moderation")
history = by_id("history").text
assert "Hid a post" in history and "Off topic" in history and text in history, history
shot("12-moderation-history")
step("the history shows the hide with its reason")

# The instance overview ranks the community by its posts.
driver.get(base + "/dashboard")
overview = driver.find_element(By.CSS_SELECTOR, "figure.chart desc").get_attribute("textContent")
assert overview == "Herons of the bay: 1", overview
shot("12b-home-overview")
step("the overview ranks the community with its 1 post")

# Editing: a wrong sum is refused beside the field and nothing changes.
driver.get(community_url + "/edit")
fill("mix-own", "50")
fill("mix-parent", "20")
fill("mix-global", "20")
driver.find_element(By.ID, "save").click()
assert "100" in by_id("feedMix-error").text
shot("13-edit-refused")
step("the edit with a wrong sum is refused beside the field")

# Forged and bad posts, with the browser's own session cookie.
cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
jar = requests.Session()
jar.cookies.update(cookies)
forged = jar.post(base + "/dashboard/c/%s/edit" % community_id, timeout=10, allow_redirects=False,
                  data={"name": "Taken over", "mixOwn": "100", "mixParent": "0", "mixGlobal": "0", "accessType": "open"})
assert forged.status_code == 403, (forged.status_code, forged.text[:300])
csrf = driver.find_element(By.NAME, "csrf").get_attribute("value")
# The right token, but sent from another site's page: refused by the Origin check.
cross_site = jar.post(base + "/dashboard/c/%s/edit" % community_id, timeout=10, allow_redirects=False,
                      headers={"Origin": "https://evil.example"},
                      data={"csrf": csrf, "name": "Taken over", "mixOwn": "100", "mixParent": "0", "mixGlobal": "0", "accessType": "open"})
assert cross_site.status_code == 403 and "another site" in cross_site.text, cross_site.status_code
too_long = jar.post(base + "/dashboard/c/%s/edit" % community_id, timeout=10, allow_redirects=False,
                    data={"csrf": csrf, "name": "x" * 101, "mixOwn": "100", "mixParent": "0", "mixGlobal": "0", "accessType": "open"})
assert too_long.status_code == 400 and 'id="name-error"' in too_long.text, (too_long.status_code, too_long.text[:500])
wrong_type = jar.post(base + "/dashboard/c/%s/edit" % community_id, timeout=10, allow_redirects=False,
                      data={"csrf": csrf, "name": "Herons", "mixOwn": "all", "mixParent": "0", "mixGlobal": "0", "accessType": "open"})
assert wrong_type.status_code == 400 and 'id="feedMix-error"' in wrong_type.text, (wrong_type.status_code, wrong_type.text[:500])
foreign = jar.get(base + "/dashboard/c/ffffffff", timeout=10)
assert foreign.status_code == 404, foreign.status_code
driver.get(community_url)
assert driver.find_element(By.TAG_NAME, "h1").text == "Herons of the bay", "a refused post changed the community"
step("forged, cross-site, over-long, mistyped and foreign posts are refused and change nothing")

# Japanese, by the switch and by Accept-Language.
driver.get(community_url + "?lang=ja")
assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
assert "ハッシュタグとフィード" in driver.page_source
shot("14-community-ja")
ja = requests.get(base + "/dashboard/signin", headers={"Accept-Language": "ja,en;q=0.5"}, timeout=10)
assert ja.status_code == 200 and '<html lang="ja">' in ja.text and "Atrarium にログイン" in ja.text, ja.text[:300]
step("the pages are served in Japanese")
print("OK")
