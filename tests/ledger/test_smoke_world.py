from tests.support import World


def test_world_registers_every_party(sqlite_ledger):
    world = World(sqlite_ledger)
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    item = sqlite_ledger.item(uid)
    assert item.custodian == "de-jagd-schmidt" and item.status == "active"
