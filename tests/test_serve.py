"""`dwpose serve` in a real headless Chromium (Selenium + the system chromedriver): the server runs
in a subprocess on a free port with a tiny random-weight pose model and no detector (the whole
image is one person, so random weights still place points and the skeleton is not black); the
page uploads a sample photo and shows the skeleton, the overlay and the JSON download; a short
video comes back as a pose video that the page's video element really decodes (a codec browsers
play); an unreadable upload shows a message and the server keeps serving. Skips, with its reason, where
the browser, chromedriver, selenium or gradio is missing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import DATA
from tests.media import write_video
from tests.test_adapters import check_openpose_json

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = DATA / "media" / "human-pose.jpeg"  # 218 wide x 346 high
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def browser_or_skip() -> tuple[str, str]:
    for module in ("selenium", "gradio"):
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{module} is not installed (pip install -e '.[serve,test]')")
    browser = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("no headless browser here: Debian's chromium and chromium-driver are not installed "
                    "(`make browser` installs them, as root)")
    return browser, driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(pose_onnx, tmp_path):
    browser_or_skip()
    port = free_port()
    log = open(tmp_path / "server.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "dwpose", "serve", "--pose-model", str(pose_onnx), "--no-detector",
         "--port", str(port), "--max-upload-mb", "2"],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                        GRADIO_ANALYTICS_ENABLED="False"))
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"dwpose serve did not start:\n{log.read()}")
                time.sleep(0.3)
        log.seek(0)
        temporary = Path(log.read().split("temporary files in ")[1].split()[0])
        yield url, temporary
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert not temporary.exists(), "the server's temporary files outlived it"


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    path, driver_path = browser_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = path
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def run_on(driver, url: str, upload: Path) -> str:
    """Opens the page, uploads `upload`, presses the button; returns the status line."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 60)
    driver.get(url)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#upload input[type=file]"))).send_keys(str(upload))
    wait.until(ec.text_to_be_present_in_element((By.ID, "upload"), upload.stem))  # shown as stem, suffix
    driver.find_element(By.ID, "run").click()
    wait.until(lambda d: d.find_element(By.ID, "status").text.strip())
    return driver.find_element(By.ID, "status").text


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_serve_in_a_headless_browser(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, temporary = server
    assert run_on(browser, url, SAMPLE).startswith("1 person(s) found in human-pose (218x346)")
    shot = tmp_path / "serve_page.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot of the page: {shot}")

    images = {}
    for name in ("skeleton", "overlay"):
        source = browser.find_element(By.CSS_SELECTOR, f"#{name} img").get_attribute("src")
        images[name] = cv2.imdecode(np.frombuffer(fetch(source), np.uint8), cv2.IMREAD_COLOR)
        assert images[name] is not None and images[name].shape == (346, 218, 3), name
    photo = cv2.imread(str(SAMPLE))
    drawn = images["skeleton"].sum(-1) > 0
    assert drawn.mean() > 0.001  # one person (no detector), points placed by the random weights
    # the overlay is the photo where no skeleton is drawn (a PNG: lossless)
    np.testing.assert_array_equal(images["overlay"][~drawn], photo[~drawn])

    link = browser.find_element(By.CSS_SELECTOR, "#downloads a[href]").get_attribute("href")
    data = json.loads(fetch(link))
    check_openpose_json(data, 218, 346, people=1, compat=False)
    assert data["people"][0]["pose_keypoints_2d"][2::3] != [0.0] * 18  # real scores, points present

    # A video upload: the pose video must play in the page (MPEG-4 Part 2 would not: error 4).
    frame = cv2.resize(photo, (96, 144))
    clip = write_video(tmp_path / "clip.avi", [frame] * 6, fps=10.0)
    assert run_on(browser, url, clip).startswith("6 frames of clip.avi done")
    state = WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "const v = document.querySelector('#pose_video video');"
        "if (!v) return null;"
        "if (v.error) return {error: v.error.code};"
        "return v.readyState >= 2 ? {width: v.videoWidth, height: v.videoHeight} : null;"))
    assert state == {"width": 96, "height": 144}, state

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    message = run_on(browser, url, broken)
    assert message.startswith("Error:") and "broken.png" in message, message
    assert run_on(browser, url, SAMPLE).startswith("1 person(s) found")  # still serving
    deadline = time.monotonic() + 10  # each request's folder goes once Gradio has its outputs
    while list((temporary / "requests").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list((temporary / "requests").iterdir()) == []
