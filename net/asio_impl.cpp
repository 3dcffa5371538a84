// The one translation unit that holds the compiled bodies of Boost.Asio,
// Asio's SSL support and Boost.Beast (BOOST_*_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
