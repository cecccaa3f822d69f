from ledger.log.keys import new_account
from scanner.logs import IssuingLog, LocalLog, resolve_log
from scanner.payload import FirearmFacts, encode_payload, parse_payload, sign_claim

ITEM = "01JD0000000000000000000000"
FACTS = FirearmFacts(maker_code="BER", serial="PX4-1", country="IT", year=2024)
ACCOUNT = new_account()


def _code(host: str, version: int, log_id: str | None = None) -> str:
    return encode_payload(host, ITEM, FACTS, sign_claim(ACCOUNT, host, ITEM, FACTS, version, log_id=log_id), version, log_id=log_id)


def test_a_version_3_code_belongs_to_the_log_its_key_id_names_wherever_it_points():
    local = LocalLog.of("0A1B2C3D", "tracemark.local")
    assert resolve_log(parse_payload(_code("ELSEWHERE.ORG", 3, "0a1b2c3d")), local) == IssuingLog(True, "0a1b2c3d", "ELSEWHERE.ORG")
    foreign = resolve_log(parse_payload(_code("TRACEMARK.LOCAL", 3, "deadbeef")), local)
    assert foreign == IssuingLog(False, "deadbeef", "TRACEMARK.LOCAL") and "deadbeef" in foreign.describe()


def test_an_earlier_code_belongs_to_the_log_of_its_host_or_to_a_scanner_that_knows_no_host():
    for version in (1, 2):
        assert resolve_log(parse_payload(_code("TRACEMARK.LOCAL", version)), LocalLog.of("0a1b2c3d", "Tracemark.Local")).local
        elsewhere = resolve_log(parse_payload(_code("REGISTER.EXAMPLE.DE", version)), LocalLog.of("0a1b2c3d", "tracemark.local"))
        assert elsewhere == IssuingLog(False, None, "REGISTER.EXAMPLE.DE") and "REGISTER.EXAMPLE.DE" in elsewhere.describe()
        assert resolve_log(parse_payload(_code("REGISTER.EXAMPLE.DE", version)), LocalLog.of("0a1b2c3d")).local
