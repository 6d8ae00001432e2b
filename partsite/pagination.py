"""Pages of API lists: `limit` and `offset`, with the page size capped so that one request cannot
ask for the whole table."""

from rest_framework.pagination import LimitOffsetPagination

MAX_PAGE_SIZE = 500


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset pages; a larger `limit` gets MAX_PAGE_SIZE items. An offset past the end
    (however large) is an empty page, as DRF answers it before the database is asked."""

    max_limit = MAX_PAGE_SIZE

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = (
                    f"Number of results to return per page: {self.default_limit} unless given, at most "
                    f"{self.max_limit} (a larger number gets {self.max_limit})."
                )
                parameter["schema"] |= {"minimum": 1, "maximum": self.max_limit}
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"] |= {"minimum": 0}
        return parameters
