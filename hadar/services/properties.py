"""Properties: the agency's listings, with a unique reference per sandbox and the permit rule."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain.properties import HANDOVER, PROPERTIES, Property, PropertyRecord, PropertyStatus
from hadar.domain.rows import fetch_dicts
from hadar.domain.scope import Operation, Scope
from hadar.errors import Conflict, ValidationError
from hadar.ids import new_id
from hadar.pagination import Page, check_limit, page_of
from hadar.services import audit
from hadar.services.listing import binding, get_in_scope, keyset, scoped
from hadar.services.models import BIGINT, Out, Timestamp, deleted, id_of, list_of
from hadar.services.validation import PageQuery, Strict, parse

CREATE = Operation("properties.create", PROPERTIES, mutation=True)
LIST = Operation("properties.list", PROPERTIES)
RETRIEVE = Operation("properties.retrieve", PROPERTIES)
UPDATE = Operation("properties.update", PROPERTIES, mutation=True)
DELETE = Operation("properties.delete", PROPERTIES, mutation=True)

Text200 = Annotated[str, pydantic.Field(min_length=1, max_length=200)]
Reference = Annotated[str, pydantic.Field(min_length=1, max_length=64)]
Permit = Annotated[str, pydantic.Field(min_length=1, max_length=64)]
Rooms = Annotated[int, pydantic.Field(ge=0, le=50)]
Price = Annotated[int, pydantic.Field(ge=1, le=10**12), BIGINT]
TypeName = Literal["apartment", "villa", "townhouse", "penthouse", "office", "land"]
PurposeName = Literal["sale", "rent"]
StatusName = Literal["available", "reserved", "sold", "rented", "off_market"]
Amenity = Annotated[str, pydantic.Field(min_length=1, max_length=100)]
# Fields a PATCH may not clear: the row cannot exist without them.
REQUIRED = ("title", "reference", "type", "price_aed", "purpose", "status", "handover")


class _PropertyFields(Strict):
    title: Text200 | None = None
    reference: Reference | None = None
    area: Text200 | None = None
    building: Text200 | None = None
    type: TypeName | None = None
    bedrooms: Rooms | None = pydantic.Field(default=None, description="0 = studio")
    bathrooms: Rooms | None = None
    size_sqft: Annotated[int, pydantic.Field(ge=1, le=100_000_000)] | None = None
    price_aed: Price | None = pydantic.Field(default=None, description="whole dirhams")
    purpose: PurposeName | None = None
    status: StatusName | None = None
    handover: Annotated[str, pydantic.Field(pattern=HANDOVER.pattern)] | None = pydantic.Field(
        default=None, description="`ready` or `off_plan_YYYY`"
    )
    permit_number: Permit | None = pydantic.Field(
        default=None, description="RERA/DLD permit; required for `available` listings in live"
    )
    description: Annotated[str, pydantic.Field(max_length=10_000)] | None = None
    amenities: Annotated[list[Amenity], pydantic.Field(max_length=100)] | None = None

    @pydantic.field_validator("title", "reference", "area", "building", "permit_number")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value


class PropertyCreate(_PropertyFields):
    """A new listing: title, reference, type, price and purpose; status defaults to available."""

    title: Text200
    reference: Reference
    type: TypeName
    price_aed: Price = pydantic.Field(description="whole dirhams")
    purpose: PurposeName


class PropertyUpdate(_PropertyFields):
    """Fields of a property; null clears an optional field on update."""


class PropertyQuery(PageQuery):
    """The filters of GET /properties (the GraphQL `properties` field takes the same)."""

    area: str | None = pydantic.Field(
        default=None, min_length=1, max_length=200, description="Exactly this area."
    )
    bedrooms: int | None = pydantic.Field(
        default=None, ge=0, le=50, description="Exactly this many bedrooms (0 = studio)."
    )
    price_min: int | None = pydantic.Field(
        default=None, ge=0, le=10**12, description="Price at least this (AED, inclusive)."
    )
    price_max: int | None = pydantic.Field(
        default=None, ge=0, le=10**12, description="Price at most this (AED, inclusive)."
    )
    status: StatusName | None = None
    purpose: PurposeName | None = None
    type: TypeName | None = None


class PropertyOut(Out):
    """A listing the agency sells or rents."""

    id: id_of("prop")  # type: ignore[valid-type]
    object: Literal["property"]
    title: str
    reference: str = pydantic.Field(description="unique per tenant and environment")
    area: str | None
    building: str | None
    type: TypeName
    bedrooms: int | None = pydantic.Field(ge=0, description="0 = studio")
    bathrooms: int | None = pydantic.Field(ge=0)
    size_sqft: int | None = pydantic.Field(ge=1)
    price_aed: Annotated[int, BIGINT] = pydantic.Field(ge=1, description="whole dirhams")
    purpose: PurposeName
    status: StatusName
    handover: str = pydantic.Field(pattern=HANDOVER.pattern, description="ready or off_plan_YYYY")
    permit_number: str | None = pydantic.Field(description="the RERA/DLD permit")
    description: str | None
    amenities: list[str]
    created_at: Timestamp
    updated_at: Timestamp


PropertyListOut = list_of(PropertyOut)
PropertyDeletedOut = deleted("prop", "property")
PROPERTY_EXAMPLE = {
    "title": "Marina Vista 2BR",
    "reference": "MV-2BR-1204",
    "area": "Dubai Marina",
    "building": "Marina Vista Tower 1",
    "type": "apartment",
    "bedrooms": 2,
    "bathrooms": 2,
    "size_sqft": 1180,
    "price_aed": 1850000,
    "purpose": "sale",
    "handover": "ready",
    "permit_number": "7117209431",
    "amenities": ["pool", "gym", "sea view"],
}


def _check_permit(scope: Scope, row: Property) -> None:
    # Advertising an available listing without its permit is unlawful in Dubai; test data may.
    if scope.environment == "live" and row.status == PropertyStatus.AVAILABLE:
        if not row.permit_number:
            raise ValidationError(
                "property.permit_number is required for an available listing in live",
                field="property.permit_number",
            )


async def _check_reference(scope: Scope, reference: str, own_id: str | None = None) -> None:
    holder = scoped(Property, scope).filter(reference=reference)
    if own_id is not None:
        holder = holder.exclude(id=own_id)
    found = await holder.first()
    if found is not None:
        raise Conflict(
            f"property {found.id} already has reference {reference!r}", field="property.reference"
        )


async def _save(row: Property, *, create: bool) -> None:
    try:
        async with in_transaction():  # a savepoint, so a lost race leaves the request usable
            await row.save(force_create=create)
    except IntegrityError:
        # A concurrent request took the reference between the check and the write.
        raise Conflict(
            f"another property already has reference {row.reference!r}",
            field="property.reference",
        ) from None


async def create_property(*, scope: Scope, data: Any) -> Property:
    """Add a listing; its reference is unique in the sandbox, live available ones need a permit."""
    scope.require_write(PROPERTIES)
    spec = parse(PropertyCreate, data, root="property")
    at = clock.now()
    row = Property(
        id=new_id("prop", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        **spec.model_dump(exclude_none=True),  # every input field is a column of the same name
        created_at=at,
        updated_at=at,
    )
    row.status = spec.status or PropertyStatus.AVAILABLE.value
    row.handover = spec.handover or "ready"
    row.amenities = spec.amenities or []
    _check_permit(scope, row)
    await _check_reference(scope, spec.reference)
    await _save(row, create=True)
    await audit.record(scope=scope, action="property.created", object_id=row.id)
    return row


async def get_property(*, scope: Scope, property_id: str, lock: bool = False) -> Property:
    """The property with `property_id` in the caller's tenant and environment, else NotFound."""
    return await get_in_scope(
        Property, scope=scope, prefix="prop", object_id=property_id, noun="property", lock=lock
    )


async def update_property(*, scope: Scope, property_id: str, data: Any) -> Property:
    """Change the given fields (null clears an optional one); the reference stays unique."""
    scope.require_write(PROPERTIES)
    spec = parse(PropertyUpdate, data, root="property")
    row = await get_property(scope=scope, property_id=property_id, lock=True)
    given = spec.model_fields_set
    for name in REQUIRED:
        if name in given and getattr(spec, name) is None:
            raise ValidationError(f"property.{name} may not be null", field=f"property.{name}")
    for name in given:
        setattr(row, name, getattr(spec, name))
    if "amenities" in given and spec.amenities is None:
        row.amenities = []
    _check_permit(scope, row)
    if spec.reference is not None:
        await _check_reference(scope, spec.reference, own_id=row.id)
    row.updated_at = clock.now()
    await _save(row, create=False)
    await audit.record(scope=scope, action="property.updated", object_id=row.id)
    return row


async def delete_property(*, scope: Scope, property_id: str) -> str:
    """Delete the listing for good; returns its id."""
    scope.require_write(PROPERTIES)
    row = await get_property(scope=scope, property_id=property_id)
    await row.delete()
    await audit.record(scope=scope, action="property.deleted", object_id=property_id)
    return property_id


async def list_properties(
    *,
    scope: Scope,
    area: str | None = None,
    bedrooms: int | None = None,
    price_min: int | None = None,
    price_max: int | None = None,
    status: str | None = None,
    purpose: str | None = None,
    type: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[PropertyRecord]:
    """Newest first, filtered (price bounds inclusive); the cursor is bound to the filters."""
    given = {
        "area": area,
        "bedrooms": bedrooms,
        "price_min": price_min,
        "price_max": price_max,
        "status": status,
        "purpose": purpose,
        "type": type,
        "limit": limit,
        "cursor": cursor,
    }
    spec = parse(PropertyQuery, {k: v for k, v in given.items() if v is not None}, root="")
    size = check_limit(spec.limit)
    if spec.price_min is not None and spec.price_max is not None:
        if spec.price_min > spec.price_max:
            raise ValidationError("price_max must not be below price_min", field="price_max")
    filters = spec.model_dump(exclude={"limit", "cursor"})
    bound = binding(scope, "properties", filters)
    query = scoped(Property, scope)
    for name in ("area", "bedrooms", "status", "purpose", "type"):
        if filters[name] is not None:
            query = query.filter(**{name: filters[name]})
    if spec.price_min is not None:
        query = query.filter(price_aed__gte=spec.price_min)
    if spec.price_max is not None:
        query = query.filter(price_aed__lte=spec.price_max)
    rows = await fetch_dicts(keyset(query, binding=bound, limit=size, cursor=spec.cursor))
    return page_of([PropertyRecord.from_row(row) for row in rows], size, bound)


def present_property(row: Property | PropertyRecord) -> dict[str, Any]:
    """The public shape of a property (REST body, GraphQL node, a match's `property`)."""
    return {
        "id": row.id,
        "object": "property",
        "title": row.title,
        "reference": row.reference,
        "area": row.area,
        "building": row.building,
        "type": row.type,
        "bedrooms": row.bedrooms,
        "bathrooms": row.bathrooms,
        "size_sqft": row.size_sqft,
        "price_aed": row.price_aed,
        "purpose": row.purpose,
        "status": row.status,
        "handover": row.handover,
        "permit_number": row.permit_number,
        "description": row.description,
        "amenities": row.amenities,
        "created_at": clock.isoformat(row.created_at),
        "updated_at": clock.isoformat(row.updated_at),
    }
