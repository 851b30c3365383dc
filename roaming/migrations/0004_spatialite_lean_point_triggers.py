"""SpatiaLite only: the same geometry check on Location.point and EVSE.point, for a fraction of the cost.

SpatiaLite's AddGeometryColumn installs, per geometry column, a BEFORE INSERT/UPDATE trigger that
looks the column up in `geometry_columns` (comparing Lower() names) for every row, and AFTER
INSERT/UPDATE/DELETE triggers that rewrite a timestamp in `geometry_columns_time` for every row.
A sync page writes ~4,000 such rows: the triggers cost ~20 ms of its ~95 ms (measured). The check
stays (a point of SRID 4326, or NULL), written with the constants; the timestamps, which only
SpatiaLite's own statistics tools read, go. PostgreSQL is untouched.
"""

from django.db import migrations

POINT_XY = 1  # geometry_columns.geometry_type of a 2D POINT
COLUMNS = [("roaming_location", "point"), ("roaming_evse", "point")]


def lean_triggers(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, column in COLUMNS:
            for prefix in ("ggi", "ggu", "tmi", "tmu", "tmd"):
                cursor.execute(f'DROP TRIGGER IF EXISTS "{prefix}_{table}_{column}"')
            message = f"{table}.{column} violates Geometry constraint [geom-type or SRID not allowed]"
            for prefix, event in (("ggi", "INSERT"), ("ggu", f'UPDATE OF "{column}"')):
                cursor.execute(
                    f'CREATE TRIGGER "{prefix}_{table}_{column}" BEFORE {event} ON "{table}" FOR EACH ROW '
                    f'WHEN NEW."{column}" IS NOT NULL AND GeometryConstraints(NEW."{column}", {POINT_XY}, 4326) IS NOT 1 '
                    f"BEGIN SELECT RAISE(ROLLBACK, '{message}'); END"
                )


class Migration(migrations.Migration):
    dependencies = [("roaming", "0003_beat_schedule")]

    # Going back leaves the lean triggers: they check the same thing.
    operations = [migrations.RunPython(lean_triggers, migrations.RunPython.noop, elidable=False)]
