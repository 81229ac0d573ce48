"""One BLAS thread for the graphc.nn tests: the numpy reference they check against (gradient
checks, the numpy backend) multiplies small matrices, and on a busy 2-core machine idle
BLAS threads that spin made those tests several times slower."""
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1, user_api="blas"):
        yield
