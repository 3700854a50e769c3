"""The API's request bodies and answers (pydantic), as its OpenAPI description publishes them.

Bodies are strict: unknown fields refused, and every value of its own JSON type (no `true` or "3" or
2.0 for an integer, no "yes" or 1 for a boolean). Prices are decimal text in requests (as shown, never a binary
float) and decimal numbers in answers; instants are ISO 8601 with their offset (UTC).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from shoplake.business import CATEGORIES

if TYPE_CHECKING:
    from shop.app.db import products

EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}$"
PRICE_PATTERN = r"^(0{0,7}[1-9][0-9]{0,7}(\.[0-9]{1,2})?|0{1,8}\.(0[1-9]|[1-9][0-9]?))$"
"""A price: decimal text, at most 8 digits before the point (numeric(10, 2)) and 2 after, never zero
(nothing is given away). shop/web/static/app.js's sell form checks the same pattern."""
TEXT_PATTERN = r"^[^\x00]*$"
"""Any text PostgreSQL can hold: no NUL."""
NAME_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
"""A name: no NUL, and not only white space."""
Category = Literal[CATEGORIES]  # type: ignore[valid-type] # the business's categories, an enum in the description


class Strict(BaseModel):
    """A request body: unknown fields refused, each value of its field's JSON type (pydantic's strict
    mode: no conversions), and all its text Unicode without NUL."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _unicode(cls, value: Any) -> Any:
        # PostgreSQL's text cannot hold NUL ("\u0000" in JSON): refused, naming the field, rather than
        # by the database. Every text field also states it (TEXT_PATTERN), for the OpenAPI description;
        # this catches a field that forgot to.
        if isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("string_nul", "Input should not contain the NUL character")
        # JSON's \u escapes can spell a lone surrogate, which no UTF-8 text (PostgreSQL's, the
        # clickstream's) can hold. Pydantic refuses one in a constrained string (`string_unicode`);
        # this refuses it, in the same words, in every other.
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise PydanticCustomError("string_unicode", "Input should be Unicode text") from None
        return value


class Answer(BaseModel):
    """Answers are read from the data access's rows by attribute."""

    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- accounts


class SignUp(Strict):
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=10, max_length=128, pattern=TEXT_PATTERN)
    display_name: str | None = Field(default=None, max_length=80, pattern=TEXT_PATTERN)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    gender: Literal["female", "male", "other", "undisclosed"] | None = None
    seller: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return value.lower()


class Login(Strict):
    email: str = Field(min_length=3, max_length=254, pattern=TEXT_PATTERN)
    password: str = Field(min_length=1, max_length=128, pattern=TEXT_PATTERN)


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str


class Me(BaseModel):
    customer_id: int
    display_name: str | None
    seller: bool
    csrf_token: str


class Error(BaseModel):
    error: str
    message: str


# ---------------------------------------------------------------- products


class Categories(BaseModel):
    """The categories a product is in, in the order the storefront lists them."""

    categories: list[str]


# Currencies without minor units (ISO 4217 exponent 0): their prices are whole.
WHOLE_CURRENCIES = ("KRW",)
WHOLE_PRICE_PATTERN = r"^0{0,7}[1-9][0-9]{0,7}(\.0{1,2})?$"


class ProductIn(Strict):
    # The description says what `_price` checks: in a currency without minor units, a whole price.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"currency": {"enum": list(WHOLE_CURRENCIES)}}, "required": ["currency"]},
            "then": {"properties": {"price": {"pattern": WHOLE_PRICE_PATTERN}}},
        }
    )

    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=5000, pattern=TEXT_PATTERN)
    category: Category
    currency: Literal["USD", "EUR", "KRW", "GBP", "CAD"] = "USD"
    price: str = Field(pattern=PRICE_PATTERN, examples=["39.90"])
    stock: int = Field(ge=0, le=1_000_000)
    # Content types of the images to upload, in order (at most 5).
    images: list[Literal["image/jpeg", "image/png", "image/webp"]] = Field(default_factory=list, max_length=5)

    @field_validator("price")
    @classmethod
    def _price(cls, price: str, info: ValidationInfo) -> str:
        # `currency` is declared before `price`, so it is already read (if valid).
        currency = info.data.get("currency")
        if currency in WHOLE_CURRENCIES and not re.match(WHOLE_PRICE_PATTERN, price):
            raise PydanticCustomError("price_fraction", "Price in {currency} should be whole", {"currency": currency})
        return price


class ProductChange(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=5000, pattern=TEXT_PATTERN)
    price: str | None = Field(default=None, pattern=PRICE_PATTERN)
    stock: int | None = Field(default=None, ge=0, le=1_000_000)
    is_listed: bool | None = None


def image_url(key: str | None) -> str | None:
    """Images are served through the web tier, which sends them on to the image CDN."""
    return f"/images/{key}" if key else None


class Product(Answer):
    product_id: int
    seller_id: int
    name: str
    description: str | None
    category: str
    price: Decimal
    currency: str
    stock: int
    created_at: datetime
    image_url: str | None

    @classmethod
    def of(cls, row: products.ProductRow) -> Product:
        """From a data-access product row (`image_key` becomes its URL)."""
        return cls.model_validate({**_attributes(row, cls), "image_url": image_url(row.image_key)})


class ProductDetail(Product):
    image_urls: list[str]
    rating: float | None
    reviews: int

    @classmethod
    def of(cls, row: products.ProductDetail) -> ProductDetail:  # type: ignore[override] # a detail from a detail row
        """From a data-access product detail row (each image key becomes its URL)."""
        urls = [url for url in map(image_url, row.image_keys) if url]
        return cls.model_validate({**_attributes(row, cls), "image_url": image_url(row.image_key), "image_urls": urls})


def _attributes(row: Any, model: type[BaseModel]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}


class ProductPage(BaseModel):
    items: list[Product]
    next_cursor: str | None


class Upload(BaseModel):
    key: str
    url: str
    fields: dict[str, str]


class Posted(BaseModel):
    product: ProductDetail
    uploads: list[Upload]


# ---------------------------------------------------------------- cart and orders


class CartLine(Answer):
    product_id: int
    name: str
    quantity: int
    price: Decimal
    currency: str


class Cart(Answer):
    lines: list[CartLine]


class Quantity(Strict):
    quantity: int = Field(ge=1, le=99)


class OrderLine(Answer):
    purchase_id: int
    product_id: int
    name: str
    quantity: int
    unit_price: Decimal
    status: str
    reviewed: bool


class Order(Answer):
    order_id: uuid.UUID
    status: str
    total: Decimal
    currency: str
    created_at: datetime
    lines: list[OrderLine]


class Orders(Answer):
    orders: list[Order]


# ---------------------------------------------------------------- payments


class CardIn(Strict):
    card_number: str = Field(pattern=r"^[0-9]{12,19}$")
    expiry_month: int = Field(ge=1, le=12)
    expiry_year: int = Field(ge=2000, le=2100)
    cvc: str = Field(pattern=r"^[0-9]{3,4}$")


class Payment(Answer):
    outcome: Literal["authorised", "declined"]
    decline_reason: str | None
    amount: Decimal
    currency: str
    card_last4: str
    order: Order


# ---------------------------------------------------------------- reviews


class ReviewIn(Strict):
    rating: int = Field(ge=1, le=5)
    body: str | None = Field(default=None, max_length=5000, pattern=TEXT_PATTERN)


class Review(Answer):
    review_id: int
    rating: int
    body: str | None
    created_at: datetime
    display_name: str | None = None


class Reviews(Answer):
    reviews: list[Review]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
