from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def data_dir() -> Path:
    return DATA
