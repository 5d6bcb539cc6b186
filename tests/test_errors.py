"""The small validation helpers every setting check uses."""

import numpy as np
import pytest

from tsauto.errors import SettingsError, check_int, is_int, is_number, preview


def test_the_validation_helpers():
    assert is_int(np.int64(3)) and is_int(0, minimum=0)
    assert not any(is_int(v) for v in (True, 2.0, "2", 0, None))
    assert is_number(np.float32(0.5)) and is_number(3)
    assert not any(is_number(v) for v in (True, "1", None))
    assert check_int(np.int64(4), "n") == 4 and check_int(None, "n", or_none=True) is None
    with pytest.raises(SettingsError, match=r"horizon must be a positive integer .*got True"):
        check_int(True, "horizon")
    with pytest.raises(SettingsError, match=r"tcn: lookback must be an integer >= 2 or None, "
                                            r"got 1"):
        check_int(1, "tcn: lookback", 2, or_none=True)


def test_preview_quotes_text_as_text_whatever_its_type():
    # numpy 2 reprs its strings as np.str_('no'): messages would show that to users
    assert preview([np.str_("no"), "yes", np.int64(3), 2.5]) == "'no', 'yes', 3, 2.5"
    assert preview(range(7)) == "0, 1, 2, 3, 4 and 2 more"
