"""Caseworker keys: recipient public keys (what the bot holds) and passphrase-locked private key
files (what only a caseworker's own computer holds).

Key encodings follow the HPKE KEM definitions so another implementation can use them directly:

- x25519: the 32-byte X25519 private scalar / public key (DHKEM(X25519, HKDF-SHA256), 0x0020).
- mlkem768x25519: a 32-byte seed, expanded with SHAKE256 into an ML-KEM-768 seed and an X25519
  key; the public key is ML-KEM-768 encapsulation key (1184) || X25519 public key (32)
  (MLKEM768-X25519, 0x647a, draft-ietf-hpke-pq).

Version 2 keys add an Ed25519 signing key (RFC 8032; 32-byte seed, 32-byte public key) beside the
HPKE key: a caseworker signs her requests to the staff API and her case events with it. Their
public line is `srk2-<kind>:<base64url(HPKE public || Ed25519 public)>`; a version 1 key (no
signing key, `srk1-...`) still receives reports and is upgraded with `upgrade_keypair`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, NewType, get_args

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from storage.atomicfile import write_atomic
from storage.errors import BadKeyFile, BadPublicKey, MixedKeyKinds, WrongPassphrase

KeyKind = Literal["mlkem768x25519", "x25519"]
KEY_KINDS: tuple[KeyKind, ...] = get_args(KeyKind)
DEFAULT_KIND: KeyKind = "mlkem768x25519"

# RFC 9180 / draft-ietf-hpke-pq KEM identifiers, written into every envelope stanza.
KEM_IDS: dict[KeyKind, int] = {"x25519": 0x0020, "mlkem768x25519": 0x647A}
HPKE_KEMS: dict[KeyKind, hpke.KEM] = {
    "x25519": hpke.KEM.X25519,
    "mlkem768x25519": hpke.KEM.MLKEM768_X25519,
}
_PRIVATE_LEN: dict[KeyKind, int] = {"x25519": 32, "mlkem768x25519": 32}
_PUBLIC_LEN: dict[KeyKind, int] = {"x25519": 32, "mlkem768x25519": 1184 + 32}
_MLKEM_SEED_LEN = 64

PUBLIC_KEY_PREFIX = "srk1-"
SIGNING_PUBLIC_KEY_PREFIX = "srk2-"
KEY_ID_LEN = 8
SIGNING_KEY_LEN = 32  # an Ed25519 seed and an Ed25519 public key are both 32 bytes
KEY_FILE_FORMAT = "safe-report-private-key"
KEY_FILE_VERSION = 1
SIGNING_KEY_FILE_VERSION = 2
SIGNATURE_ALGORITHM = "ed25519"
# A label for people (the desk shows it beside the fingerprint); not an identity proof.
MAX_KEY_NAME_CHARS = 64

# Secret-bearing text gets its own type so it is not passed where ordinary text is expected.
Passphrase = NewType("Passphrase", str)
# Refuse absurd passphrases before hashing: a multi-megabyte "passphrase" is a DoS, not a secret.
MAX_PASSPHRASE_CHARS = 1024

HpkePublic = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
HpkePrivate = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey


# A fingerprint is 40 decimal digits (about 133 bits) in ten groups of four: digits read aloud the
# same in Kazakh, Russian and English, and no two look alike (0/O, 1/l/I).
FINGERPRINT_DIGITS = 40
FINGERPRINT_GROUP = 4


def fingerprint(public_key: bytes) -> str:
    """``SHA-256(public key bytes)`` as a number, modulo 10^40, in ten groups of four digits.

    At 133 bits, finding another key with the same fingerprint costs about 2^133 tries; the
    80-bit form before it was within reach of a well-funded adversary.
    """
    number = int.from_bytes(hashlib.sha256(public_key).digest(), "big") % 10**FINGERPRINT_DIGITS
    digits = f"{number:0{FINGERPRINT_DIGITS}d}"
    return " ".join(
        digits[i : i + FINGERPRINT_GROUP] for i in range(0, FINGERPRINT_DIGITS, FINGERPRINT_GROUP)
    )


# Not slots: cached_property needs an instance __dict__. Keys are parsed once and used for
# thousands of reports, so the derived objects are computed once.
@dataclass(frozen=True)
class PublicKey:
    """A recipient (caseworker) public key; `signing` is the Ed25519 public key of a version 2
    key (None for version 1)."""

    kind: KeyKind
    raw: bytes
    signing: bytes | None = None

    def __post_init__(self) -> None:
        if self.kind not in KEY_KINDS:
            raise BadPublicKey(f"unknown key kind {self.kind!r}")
        if len(self.raw) != _PUBLIC_LEN[self.kind]:
            raise BadPublicKey(f"a {self.kind} public key is {_PUBLIC_LEN[self.kind]} bytes")
        if self.signing is not None and len(self.signing) != SIGNING_KEY_LEN:
            raise BadPublicKey(f"an ed25519 public key is {SIGNING_KEY_LEN} bytes")
        self.hpke_key()  # validate now, not at the first report
        if self.signing is not None:
            self.verify_key()

    @cached_property
    def key_id(self) -> bytes:
        """First 8 bytes of SHA-256 of the raw public key: the hint a reader uses to find her
        stanza. It identifies a key, not a person, and only among the organisation's own keys."""
        return hashlib.sha256(self.raw).digest()[:KEY_ID_LEN]

    @property
    def kem_id(self) -> int:
        """The HPKE KEM identifier of this key's kind."""
        return KEM_IDS[self.kind]

    @property
    def fingerprint(self) -> str:
        """What the operator and the caseworker read aloud and compare: see :func:`fingerprint`.
        A version 2 key's covers its signing key too: the line it vouches for grants access to
        the staff API."""
        return fingerprint(self.raw + (self.signing or b""))

    @property
    def text(self) -> str:
        """`srk1-<kind>:<base64url>` (or `srk2-` with the signing key appended): one line, safe
        in an environment variable."""
        if self.signing is None:
            return f"{PUBLIC_KEY_PREFIX}{self.kind}:{_b64(self.raw)}"
        return f"{SIGNING_PUBLIC_KEY_PREFIX}{self.kind}:{_b64(self.raw + self.signing)}"

    @property
    def can_sign(self) -> bool:
        """Whether this is a version 2 key, whose owner can sign requests and case events."""
        return self.signing is not None

    def verify_key(self) -> ed25519.Ed25519PublicKey:
        """The Ed25519 key that checks this caseworker's signatures. Raises `BadPublicKey` for a
        version 1 key, which has none."""
        return self._verify

    @cached_property
    def _verify(self) -> ed25519.Ed25519PublicKey:
        if self.signing is None:
            raise BadPublicKey("a version 1 key (srk1-...) cannot sign; upgrade it (upgrade-key)")
        try:
            return ed25519.Ed25519PublicKey.from_public_bytes(self.signing)
        except ValueError as exc:
            raise BadPublicKey("invalid ed25519 public key") from exc

    def without_signing(self) -> PublicKey:
        """The same HPKE key as a version 1 key: what it looked like before an upgrade."""
        return PublicKey(kind=self.kind, raw=self.raw)

    def hpke_key(self) -> HpkePublic:
        """The key as a `cryptography` object for `hpke.Suite.encrypt`."""
        return self._hpke

    @cached_property
    def _hpke(self) -> HpkePublic:
        try:
            if self.kind == "x25519":
                return x25519.X25519PublicKey.from_public_bytes(self.raw)
            return hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(self.raw[:1184]),
                x25519.X25519PublicKey.from_public_bytes(self.raw[1184:]),
            )
        except ValueError as exc:
            raise BadPublicKey(f"invalid {self.kind} public key") from exc

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class PrivateKey:
    """A caseworker private key. Exists only on the caseworker's computer, never on the server.
    `signing` is the Ed25519 seed of a version 2 key (None for version 1)."""

    kind: KeyKind
    raw: bytes = field(repr=False)
    signing: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KEY_KINDS:
            raise BadKeyFile(f"unknown key kind {self.kind!r}")
        if len(self.raw) != _PRIVATE_LEN[self.kind]:
            raise BadKeyFile(f"a {self.kind} private key is {_PRIVATE_LEN[self.kind]} bytes")
        if self.signing is not None and len(self.signing) != SIGNING_KEY_LEN:
            raise BadKeyFile(f"an ed25519 private key is {SIGNING_KEY_LEN} bytes")

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature of `data` (64 bytes). Raises `BadKeyFile` for a version 1 key."""
        return self.signing_key().sign(data)

    def signing_key(self) -> ed25519.Ed25519PrivateKey:
        """The Ed25519 key as a `cryptography` object."""
        return self._signing

    @cached_property
    def _signing(self) -> ed25519.Ed25519PrivateKey:
        if self.signing is None:
            raise BadKeyFile(
                "this is a version 1 key: it cannot sign (upgrade it with upgrade-key)"
            )
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.signing)

    def _parts(self) -> tuple[mlkem.MLKEM768PrivateKey | None, x25519.X25519PrivateKey]:
        if self.kind == "x25519":
            return None, x25519.X25519PrivateKey.from_private_bytes(self.raw)
        # expandKey of draft-ietf-hpke-pq: SHAKE256(seed, 64 + 32) -> ML-KEM seed (d || z), X25519.
        expanded = hashlib.shake_256(self.raw).digest(_MLKEM_SEED_LEN + 32)
        return (
            mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:_MLKEM_SEED_LEN]),
            x25519.X25519PrivateKey.from_private_bytes(expanded[_MLKEM_SEED_LEN:]),
        )

    def hpke_key(self) -> HpkePrivate:
        """The key as a `cryptography` object for `hpke.Suite.decrypt`."""
        return self._hpke

    @cached_property
    def _hpke(self) -> HpkePrivate:
        pq, classic = self._parts()
        if pq is None:
            return classic
        return hpke.MLKEM768X25519PrivateKey(pq, classic)

    @cached_property
    def public(self) -> PublicKey:
        """The matching public key."""
        pq, classic = self._parts()
        raw = classic.public_key().public_bytes_raw()
        if pq is not None:
            raw = pq.public_key().public_bytes_raw() + raw
        signing = None
        if self.signing is not None:
            signing = self.signing_key().public_key().public_bytes_raw()
        return PublicKey(kind=self.kind, raw=raw, signing=signing)


def generate_keypair(kind: KeyKind = DEFAULT_KIND, *, signing: bool = True) -> PrivateKey:
    """A fresh private key of `kind` (default: the post-quantum hybrid), with an Ed25519 signing
    key (a version 2 key) unless `signing=False`. `.public` gives its public key."""
    if kind not in KEY_KINDS:
        raise BadKeyFile(f"unknown key kind {kind!r}; choose one of {', '.join(KEY_KINDS)}")
    seed = secrets.token_bytes(SIGNING_KEY_LEN) if signing else None
    return PrivateKey(kind=kind, raw=secrets.token_bytes(_PRIVATE_LEN[kind]), signing=seed)


def upgrade_keypair(key: PrivateKey) -> PrivateKey:
    """A version 1 key with a fresh signing key added: the same HPKE key (so every report sealed
    to it still opens), now able to sign. A version 2 key is returned unchanged."""
    if key.signing is not None:
        return key
    return PrivateKey(kind=key.kind, raw=key.raw, signing=secrets.token_bytes(SIGNING_KEY_LEN))


def parse_public_key(text: str) -> PublicKey:
    """Parse `srk1-<kind>:<base64url>` or `srk2-<kind>:<base64url>` (surrounding whitespace
    ignored)."""
    text = text.strip()
    prefix = text[: len(PUBLIC_KEY_PREFIX)]
    if prefix not in (PUBLIC_KEY_PREFIX, SIGNING_PUBLIC_KEY_PREFIX) or ":" not in text:
        raise BadPublicKey(
            "a recipient key looks like srk2-mlkem768x25519:... (or srk1-..., srk2-x25519:...)"
        )
    label, _, body = text[len(prefix) :].partition(":")
    if label not in KEY_KINDS:
        raise BadPublicKey(f"unknown key kind {label!r}; known: {', '.join(KEY_KINDS)}")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadPublicKey("recipient key is not valid base64url") from exc
    kind: KeyKind = "x25519" if label == "x25519" else "mlkem768x25519"
    if prefix == PUBLIC_KEY_PREFIX:
        return PublicKey(kind=kind, raw=raw)
    if len(raw) != _PUBLIC_LEN[kind] + SIGNING_KEY_LEN:
        raise BadPublicKey(
            f"a srk2 {kind} key is {_PUBLIC_LEN[kind] + SIGNING_KEY_LEN} bytes: "
            "the HPKE public key and the ed25519 public key"
        )
    return PublicKey(kind=kind, raw=raw[: _PUBLIC_LEN[kind]], signing=raw[_PUBLIC_LEN[kind] :])


def load_recipients(spec: str) -> list[PublicKey]:
    """Parse the REPORT_RECIPIENTS setting: comma-separated inline keys or paths of files holding
    keys (one per line, `#` comments allowed). Rejects an empty list and duplicates."""
    keys: list[PublicKey] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item.startswith((PUBLIC_KEY_PREFIX, SIGNING_PUBLIC_KEY_PREFIX)):
            keys.append(parse_public_key(item))
        else:
            keys.extend(_read_public_key_file(Path(item)))
    if not keys:
        raise BadPublicKey("no recipient keys configured: reports could never be read")
    ids = [k.key_id for k in keys]
    if len(set(ids)) != len(ids):
        raise BadPublicKey("the same recipient key is configured twice")
    return keys


def mixed_kinds(keys: Sequence[PublicKey]) -> bool:
    """Whether ``keys`` mix post-quantum hybrid keys with plain X25519 ones.

    Mixed, an envelope's X25519 stanza alone opens the data key: every report then has only
    X25519's protection, and the hybrid keys' post-quantum protection is lost without a sign.
    """
    return len({k.kind for k in keys}) > 1


def require_one_kind(keys: Sequence[PublicKey], *, allow_mixed: bool) -> None:
    """Refuse recipients of mixed kinds (see :func:`mixed_kinds`) unless ``allow_mixed``."""
    if mixed_kinds(keys) and not allow_mixed:
        raise MixedKeyKinds(
            "recipient keys mix mlkem768x25519 and x25519: an X25519 key alone would open every"
            " report, so none would keep post-quantum protection. Give every caseworker a key of"
            " one kind, or allow the mix by name (ALLOW_MIXED_RECIPIENT_KEYS=yes)"
        )


def _read_public_key_file(path: Path) -> list[PublicKey]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadPublicKey(f"cannot read recipient key file {path}: {exc.strerror}") from exc
    if text.lstrip().startswith("{"):
        # A private key must never sit on the server; refuse loudly instead of deriving from it.
        raise BadPublicKey(f"{path} is a private key file; configure the public key (srk2-...)")
    lines = [ln.strip() for ln in text.splitlines()]
    keys = [parse_public_key(ln) for ln in lines if ln and not ln.startswith("#")]
    if not keys:
        raise BadPublicKey(f"{path} holds no recipient key")
    return keys


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id cost parameters for a key file. `memory_kib` is in KiB."""

    memory_kib: int
    iterations: int
    lanes: int

    def __post_init__(self) -> None:
        # Upper bounds stop a crafted key file from making the console allocate 100 GiB.
        if not 1 <= self.lanes <= 64:
            raise BadKeyFile("argon2id lanes out of range")
        if not 1 <= self.iterations <= 64:
            raise BadKeyFile("argon2id iterations out of range")
        if not 8 * self.lanes <= self.memory_kib <= 4 * 1024 * 1024:
            raise BadKeyFile("argon2id memory out of range")


# RFC 9106 section 4, second recommended option: 64 MiB, 3 passes, 4 lanes. About half a second on
# a laptop; paid once per console run, not per report.
DEFAULT_ARGON2 = Argon2Params(memory_kib=64 * 1024, iterations=3, lanes=4)


def insecure_argon2_params() -> Argon2Params:
    """Minimal Argon2id costs for tests only. Never for a real key: trivially brute-forced."""
    return Argon2Params(memory_kib=8, iterations=1, lanes=1)


def _passphrase_bytes(passphrase: Passphrase) -> bytes:
    if len(passphrase) > MAX_PASSPHRASE_CHARS:
        raise WrongPassphrase(f"passphrase longer than {MAX_PASSPHRASE_CHARS} characters")
    # NFC so the same passphrase typed on two systems (composed vs decomposed letters) matches.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _derive(passphrase: Passphrase, salt: bytes, params: Argon2Params) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(_passphrase_bytes(passphrase))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise BadKeyFile("key file: a binary field is not text")
    # Strict: the decoder alone would skip characters outside the alphabet, so "***" would read
    # as no bytes at all (and then as a wrong passphrase).
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise BadKeyFile("key file: a binary field is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadKeyFile("key file: a binary field is not base64url") from exc


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def check_key_name(name: str) -> str:
    """A key's name for people, trimmed; refuses control characters and overlong names."""
    name = name.strip()
    if len(name) > MAX_KEY_NAME_CHARS:
        raise BadKeyFile(f"a key name has at most {MAX_KEY_NAME_CHARS} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise BadKeyFile("a key name cannot hold control or format characters")
    return name


def encode_private_key_file(
    key: PrivateKey,
    passphrase: Passphrase,
    *,
    params: Argon2Params = DEFAULT_ARGON2,
    name: str = "",
) -> bytes:
    """Serialise `key` locked with `passphrase` (Argon2id -> ChaCha20-Poly1305). See FORMAT.md.

    A key with a signing key is written as a version 2 file (the plaintext is the HPKE private
    key followed by the Ed25519 seed), one without as version 1. `name` (version 2 only) is a
    label for people, shown beside the fingerprint.
    """
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    public_text = key.public.text
    secret = key.raw + (key.signing or b"")
    # The public key line is the associated data: the ciphertext cannot be moved under another key.
    ciphertext = ChaCha20Poly1305(_derive(passphrase, salt, params)).encrypt(
        nonce, secret, public_text.encode("ascii")
    )
    document: dict[str, Any] = {
        "format": KEY_FILE_FORMAT,
        "version": KEY_FILE_VERSION,
        "kem": key.kind,
        "public_key": public_text,
        "kdf": {
            "name": "argon2id",
            "memory_kib": params.memory_kib,
            "iterations": params.iterations,
            "lanes": params.lanes,
            "salt": _b64(salt),
        },
        "aead": "chacha20poly1305",
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }
    if key.signing is not None:
        document["version"] = SIGNING_KEY_FILE_VERSION
        document["signature"] = SIGNATURE_ALGORITHM
        document["name"] = check_key_name(name)
    elif name:
        raise BadKeyFile("only a version 2 key file carries a name")
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


@dataclass(frozen=True, slots=True)
class KeyFileInfo:
    """What a key file says without its passphrase: its public key, version and name."""

    public: PublicKey
    version: int
    name: str


def key_file_info(data: bytes) -> KeyFileInfo:
    """The public facts of a private key file (no passphrase needed)."""
    doc = _load_key_document(data)
    public = parse_public_key(_str(doc, "public_key"))
    version = int(doc["version"])
    if (version == SIGNING_KEY_FILE_VERSION) != public.can_sign:
        raise BadKeyFile("key file: its version does not match its public key")
    name = doc.get("name", "") if version == SIGNING_KEY_FILE_VERSION else ""
    if not isinstance(name, str):
        raise BadKeyFile("key file: name must be text")
    return KeyFileInfo(public=public, version=version, name=check_key_name(name))


def public_key_from_key_file(data: bytes) -> PublicKey:
    """The public key recorded in a private key file (no passphrase needed)."""
    return key_file_info(data).public


def decode_private_key_file(data: bytes, passphrase: Passphrase) -> PrivateKey:
    """Unlock a private key file. Raises `WrongPassphrase` or `BadKeyFile`."""
    doc = _load_key_document(data)
    public = key_file_info(data).public
    if doc.get("kem") != public.kind:
        raise BadKeyFile("key file: kem does not match its public key")
    if public.can_sign and doc.get("signature") != SIGNATURE_ALGORITHM:
        raise BadKeyFile("key file: only ed25519 signing keys are supported")
    kdf = doc.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "argon2id":
        raise BadKeyFile("key file: only argon2id is supported")
    if doc.get("aead") != "chacha20poly1305":
        raise BadKeyFile("key file: only chacha20poly1305 is supported")
    params = Argon2Params(
        memory_kib=_int(kdf, "memory_kib"),
        iterations=_int(kdf, "iterations"),
        lanes=_int(kdf, "lanes"),
    )
    salt, nonce = _unb64(kdf.get("salt")), _unb64(doc.get("nonce"))
    if len(salt) < 16 or len(nonce) != 12:
        raise BadKeyFile("key file: salt or nonce has the wrong length")
    try:
        secret = ChaCha20Poly1305(_derive(passphrase, salt, params)).decrypt(
            nonce, _unb64(doc.get("ciphertext")), public.text.encode("ascii")
        )
    except InvalidTag:
        raise WrongPassphrase("wrong passphrase for this key file") from None
    length = _PRIVATE_LEN[public.kind]
    expected = length + (SIGNING_KEY_LEN if public.can_sign else 0)
    if len(secret) != expected:
        raise BadKeyFile("key file: the private key has the wrong length")
    key = PrivateKey(
        kind=public.kind, raw=secret[:length], signing=secret[length:] if public.can_sign else None
    )
    if key.public != public:
        raise BadKeyFile("key file: the private key does not match its public key")
    return key


def _load_key_document(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadKeyFile("not a private key file (expected JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
        raise BadKeyFile("not a safe-report private key file")
    if doc.get("version") not in (KEY_FILE_VERSION, SIGNING_KEY_FILE_VERSION) or isinstance(
        doc.get("version"), bool
    ):
        raise BadKeyFile(f"unsupported key file version {doc.get('version')!r}")
    return doc


def _str(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str):
        raise BadKeyFile(f"key file: {name} missing")
    return value


def _int(doc: dict[str, Any], name: str) -> int:
    value = doc.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadKeyFile(f"key file: {name} must be an integer")
    return value


def write_private_key_file(
    path: Path,
    key: PrivateKey,
    passphrase: Passphrase,
    *,
    params: Argon2Params = DEFAULT_ARGON2,
    overwrite: bool = False,
    name: str = "",
) -> None:
    """Write a locked key file all-or-nothing with mode 0600. Refuses to replace an existing file
    unless `overwrite`: losing a private key loses every report sealed to it."""
    write_atomic(
        Path(path),
        encode_private_key_file(key, passphrase, params=params, name=name),
        overwrite=overwrite,
    )


def read_private_key_file(path: Path, passphrase: Passphrase) -> PrivateKey:
    """Read and unlock a private key file."""
    return decode_private_key_file(_read_key_bytes(Path(path)), passphrase)


def _read_key_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadKeyFile(f"key file not found: {path}") from None
    except OSError as exc:
        raise BadKeyFile(f"cannot read key file {path}: {exc.strerror}") from None
    # A key file is a few KiB; refuse to parse something huge that was passed by mistake.
    if len(data) > 64 * 1024:
        raise BadKeyFile(f"{path} is too large to be a key file")
    return data


def read_public_key_of_key_file(path: Path) -> PublicKey:
    """The public key stored in a private key file, without unlocking it."""
    return public_key_from_key_file(_read_key_bytes(Path(path)))


def read_key_file_info(path: Path) -> KeyFileInfo:
    """The public facts of a private key file (public key, version, name), without unlocking."""
    return key_file_info(_read_key_bytes(Path(path)))
