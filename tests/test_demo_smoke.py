from data.models import Region


def test_district_fixture_writes_regions(db, district):
    with db.reader() as session:
        assert session.query(Region).filter_by(level="grid").count() == 12
