"""`ByteKeys` gives each string a number whose kept bytes are that string's, whatever the keys collide on."""

from __future__ import annotations

import random

import numpy as np
import pytest

from medcorpus import bytekeys
from medcorpus.bytekeys import ByteKeys


def _batch(strings: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in strings], dtype=np.int64)
    data = np.frombuffer(b"".join(strings) + bytes(8), dtype=np.uint8)
    return data, np.cumsum(lengths) - lengths, lengths


def _strings(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    sizes = [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200]
    return [bytes(rng.choice(b"ab\x00\xff ") for _ in range(rng.choice(sizes))) for _ in range(count)]


@pytest.mark.parametrize("weak", [False, True])
def test_every_number_holds_its_string_bytes(monkeypatch, weak):
    if weak:  # keys that collide all the time: found strings are still checked byte for byte
        monkeypatch.setattr(bytekeys, "_mix", lambda values: values & np.uint64(3))
    keys, held = ByteKeys(), {}
    for seed in range(6):
        strings = _strings(300, seed)
        numbers, first = keys.number(*_batch(strings))
        held.update(zip(range(first, keys.count), keys.strings(first)))
        assert all(held[number] == string for number, string in zip(numbers.tolist(), strings))
    assert keys.kept == len(set(held.values())) if not weak else keys.count > keys.kept


def test_past_the_limit_every_string_is_forgotten_first():
    keys = ByteKeys()
    keys.number(*_batch([b"alpha", b"beta", b"alpha"]))
    numbers, first = keys.number(*_batch([b"gamma", b"delta", b"alpha"]), limit=3)
    assert first == 0 and keys.count == 3 and [keys.strings(0)[n] for n in numbers] == [b"gamma", b"delta", b"alpha"]
    delta = int(numbers[1])
    numbers, first = keys.number(*_batch([b"delta", b"epsilon"]), limit=4)
    assert first == 3 and numbers.tolist() == [delta, 3] and keys.strings(3) == [b"epsilon"] and keys.kept == 4
