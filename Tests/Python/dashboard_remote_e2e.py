"""Signing in to the Atrarium dashboard from another PDS, in a real browser.

The dashboard runs on server A; the person's account lives on server B.
They sign in on A with their DID; A finds B through the PLC directory,
pushes the authorization request to B, and the browser signs in and
consents on B's pages, then comes back to A. They create a community: A
writes its records to their repository on B with their DPoP-bound token
(com.atproto.repo.applyWrites), and A's index follows B's Jetstream.

Usage: dashboard_remote_e2e.py DASHBOARD_URL PDS_URL DID HANDLE PASSWORD SCREENSHOT_DIR
"""

import atexit
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

dashboard, pds, did, handle, password, shots = sys.argv[1:7]
os.makedirs(shots, exist_ok=True)

options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,1100"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)
atexit.register(driver.quit)
wait = WebDriverWait(driver, 20)


def by_id(element_id):
    return wait.until(EC.presence_of_element_located((By.ID, element_id)))


driver.get(dashboard + "/dashboard")
by_id("identifier").send_keys(did)
driver.find_element(By.ID, "sign-in").click()
by_id("password")
assert driver.current_url.startswith(pds + "/oauth/authorize"), "the browser is not on the PDS's own page: " + driver.current_url
driver.save_screenshot(os.path.join(shots, "remote-1-pds-sign-in.png"))
identifier = driver.find_element(By.ID, "identifier")
identifier.clear()
identifier.send_keys(handle)
driver.find_element(By.ID, "password").send_keys(password)
driver.find_element(By.ID, "sign-in").click()
by_id("allow").click()
who = by_id("who")
assert driver.current_url.startswith(dashboard + "/dashboard"), driver.current_url
assert who.text == "@" + handle, who.text
print("signed in on the dashboard from the other PDS as %s" % who.text, flush=True)

driver.find_element(By.LINK_TEXT, "New community").click()
by_id("name").send_keys("Kingfishers")
driver.find_element(By.ID, "create").click()
hashtag = by_id("hashtag").text
assert hashtag.startswith("#atrarium_"), hashtag
assert "own PDS" in by_id("generator-state").text, by_id("generator-state").text
community_url = driver.current_url.split("?")[0]
print("created %s, written to the repository on the other PDS" % hashtag, flush=True)

# The index follows the other PDS's Jetstream: the owner's role shows once it has.
deadline = time.time() + 20
while time.time() < deadline:
    driver.get(community_url)
    if driver.find_elements(By.ID, "my-role") and driver.find_element(By.ID, "my-role").text == "Owner":
        break
    time.sleep(0.3)
else:
    raise AssertionError("the index did not follow the other PDS's records")
driver.save_screenshot(os.path.join(shots, "remote-2-community.png"))
print("the dashboard's index shows the community with its owner", flush=True)
print("OK")
