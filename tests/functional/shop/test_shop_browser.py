"""The storefront in headless Chromium, through both tiers on loopback: sign up, log in, sell, order, pay."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.shop import LocalShop, running_shop
from shop.app.mail import MailSink
from shop.app.passwords import fast_passwords
from tests.functional.shop.shopping import PASSWORD, Recorder, unique_email

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[3] / ".local" / "screenshots"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Chromium and its driver (Debian: chromium chromium-driver)"
)


@pytest.fixture
def local_shop(postgres_dsn: str, shop_schema: str, recorder: Recorder) -> Iterator[LocalShop]:
    with running_shop(postgres_dsn, search_path=shop_schema, producer=recorder, passwords=fast_passwords()) as shop:
        yield shop


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1200,900", "--no-first-run", "--disable-extensions"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER or ""))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


class Storefront:
    def __init__(self, browser: Any, url: str, mailbox: MailSink) -> None:
        from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

        self.browser, self.url, self.mailbox = browser, url, mailbox
        self.wait = WebDriverWait(browser, 10)

    def go(self, hash_path: str) -> None:
        self.browser.get(f"{self.url}/{hash_path}")

    def element(self, css: str) -> Any:
        from selenium.webdriver.common.by import By  # noqa: PLC0415
        from selenium.webdriver.support import expected_conditions as ec  # noqa: PLC0415

        return self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)))

    def type(self, css: str, text: str) -> None:
        field = self.element(css)
        field.clear()
        field.send_keys(text)

    def text_of(self, css: str, expected: str) -> str:
        from selenium.webdriver.common.by import By  # noqa: PLC0415
        from selenium.webdriver.support import expected_conditions as ec  # noqa: PLC0415

        self.wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), expected))
        return str(self.browser.find_element(By.CSS_SELECTOR, css).text)

    def sign_up_and_log_in(self, email: str, *, seller: bool) -> None:
        self.go("#/signup")
        self.type("#signup-email", email)
        self.type("#signup-password", PASSWORD)
        self.type("#signup-name", email.split("@", maxsplit=1)[0])
        if seller:
            self.element("#signup-seller").click()
        self.element("#signup-submit").click()
        self.element("#login-email")
        # The link mailed to them, followed in the same browser, with the password they chose
        self.go(f"#confirm={self.mailbox.confirmation_token(email)}")
        self.type("#confirm-password", PASSWORD)
        self.element("#confirm-submit").click()
        self.text_of("#message", "confirmed")
        self.type("#login-email", email)
        self.type("#login-password", PASSWORD)
        self.element("#login-submit").click()
        self.text_of("#whoami", email.split("@", maxsplit=1)[0])

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_a_seller_posts_and_a_shopper_orders_and_pays_in_the_browser(
    local_shop: LocalShop, browser: Any, recorder: Recorder
) -> None:
    shop = Storefront(browser, local_shop.web_url, local_shop.mailbox)
    # GIVEN a seller who signs up, logs in and posts a product
    shop.sign_up_and_log_in(unique_email("seller"), seller=True)
    shop.element("#nav-sell").click()
    shop.type("#sell-name", "Merino crew jumper")
    shop.type("#sell-description", "Soft, warm, machine washable")
    shop.type("#sell-price", "79.00")
    shop.type("#sell-stock", "3")
    shop.element("#sell-submit").click()
    shop.text_of("#product-name", "Merino crew jumper")
    product_page = browser.current_url.split("/", 3)[3]
    shop.element("#logout").click()
    shop.element("#nav-login")
    # WHEN a shopper signs up, logs in, finds it, puts it in the cart, orders and pays with the test card
    shop.sign_up_and_log_in(unique_email("shopper"), seller=False)
    shop.type("#search", "merino")
    shop.element("#search").submit()
    shop.element("a.product").click()
    shop.text_of("#product-name", "Merino crew jumper")
    assert browser.current_url.endswith(product_page)
    shop.type("#quantity", "2")
    shop.element("#add-to-cart").click()
    shop.text_of("#message", "is in your cart")
    shop.element("#nav-cart").click()
    shop.element("#place-order").click()
    shop.text_of("#order-status", "PENDING")
    shop.type("#pay-card", "4242 4242 4242 4242")
    shop.type("#pay-month", "12")
    shop.type("#pay-year", "2030")
    shop.type("#pay-cvc", "123")
    shop.screenshot("checkout")
    shop.element("#pay-submit").click()
    # THEN the order is paid, the stock is reserved, and the clickstream saw it happen
    shop.text_of("#order-status", "PAID")
    shop.screenshot("paid")
    with local_shop.pool.connection() as db:
        assert db.execute("SELECT stock FROM product").fetchone() == (1,)
        assert db.execute("SELECT status, quantity FROM purchase").fetchall() == [("paid", 2)]
    kinds = {e["event_type"] for e in recorder.events}
    assert {"sign_up", "login", "search", "product_view", "add_to_cart", "checkout", "purchase"} <= kinds
    assert local_shop.payments.calls == 1
